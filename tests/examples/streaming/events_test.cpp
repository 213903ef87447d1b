// `process`'s core on good and bad input: malformed event lines are counted
// as rejected (the batch's good events still count); a bad header, which
// leaves the batch without a place in time, is a clear error.
#include <gtest/gtest.h>

#include <set>

#include "campaigns.hpp"
#include "events.hpp"
#include "generator.hpp"

namespace streaming {
namespace {

std::string line(std::string_view ad, std::string_view type, std::string_view time) {
  return "{\"user_id\":\"u-1\",\"page_id\":\"p-1\",\"ad_id\":\"" + std::string(ad) +
         "\",\"ad_type\":\"mail\",\"event_type\":\"" + std::string(type) + "\",\"event_time\":" + std::string(time) +
         ",\"ip_address\":\"10.0.0.1\"}";
}

TEST(StreamingEvents, AValidEventIsJoinedToItsCampaign) {
  auto e = parse_event(line(ad_id(57), "view", "1733330001003"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->campaign, 5);
  EXPECT_EQ(e->type, event_type::view);
  EXPECT_EQ(e->time_ms, 1733330001003);
  // The original benchmark sends event_time as a string of digits; fields in any order, spaces allowed.
  auto s = parse_event(" { \"event_time\" : \"42\", \"event_type\":\"click\", \"ad_id\":\"" + ad_id(999) +
                       "\",\"ad_type\":\"mobile\",\"ip_address\":\"1.1.1.1\",\"page_id\":\"p\",\"user_id\":\"u\"} ");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->campaign, 99);
  EXPECT_EQ(s->type, event_type::click);
  EXPECT_EQ(s->time_ms, 42);
}

TEST(StreamingEvents, MalformedLinesAreRejected) {
  const std::string ad = ad_id(3);
  for (const std::string& bad : {
           std::string("not json"), std::string("{"), std::string("{}"), line(ad, "view", "12") + "x",
           line(ad, "look", "12"), line(ad, "view", "-5"), line(ad, "view", "1.5"), line(ad, "view", "\"12a\""),
           line("no-such-ad", "view", "12"), line(ad, "view", "12").substr(0, 60),
           std::string("{\"ad_id\":\"" + ad + "\",\"event_type\":\"view\",\"event_time\":1}"),  // fields missing
           std::string(line(ad, "view", "12")).replace(line(ad, "view", "12").find("mail"), 4, "fax"),
       })
    EXPECT_FALSE(parse_event(bad).has_value()) << bad;
}

TEST(StreamingEvents, ABatchCountsItsViewsAndItsRejectedLines) {
  generator_config c;
  c.rate = 50000, c.start_ms = 5000, c.batch_ms = 20, c.window_ms = 10, c.malformed_every = 7;
  generator g(c);
  partial p = summarize_batch(0, g.batch(0, false));
  const truth& t = g.sent();
  EXPECT_EQ(p.counted.events, t.sent.events);
  EXPECT_EQ(p.counted.views, t.sent.views);
  EXPECT_EQ(p.counted.rejected, t.sent.rejected);
  EXPECT_EQ(p.counted.rejected, 1000u / 7);
  EXPECT_EQ(p.counts, t.counts);
  EXPECT_EQ(p.watermark, 5020) << "the header's until_ms";
  EXPECT_EQ(p.window_ms, 10);
}

TEST(StreamingEvents, ABadHeaderIsAClearError) {
  auto error_of = [](std::string_view batch) -> std::string {
    try {
      summarize_batch(9, batch);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of("").find("batch 9: bad header line '': not a flat JSON object"), std::string::npos)
      << error_of("");
  EXPECT_NE(error_of("{\"last\":false}\n").find("window_ms is missing"), std::string::npos);
  EXPECT_NE(error_of("{\"window_ms\":0}\n").find("window_ms must be a positive integer"), std::string::npos);
  EXPECT_NE(error_of("{\"window_ms\":10,\"until_ms\":\"x\"}").find("until_ms"), std::string::npos);
  EXPECT_NE(error_of("{\"window_ms\":10,\"last\":1}").find("last must be true or false"), std::string::npos);
  partial ok = summarize_batch(9, "{\"window_ms\":10,\"last\":true}\n\n");
  EXPECT_TRUE(ok.last);
  EXPECT_EQ(ok.counted, totals{}) << "blank lines are no events";
}

TEST(StreamingEvents, BatchKeysAreBDashSeq) {
  EXPECT_EQ(batch_seq("b-0"), 0u);
  EXPECT_EQ(batch_seq("b-123"), 123u);
  EXPECT_EQ(batch_seq("b-"), std::nullopt);
  EXPECT_EQ(batch_seq("p-1"), std::nullopt);
  EXPECT_EQ(batch_seq("b-1x"), std::nullopt);
}

TEST(StreamingEvents, TheCampaignTableIsHundredTimesTen) {
  std::set<std::string> ads, campaigns;
  for (int a = 0; a < ad_count; ++a) {
    ads.insert(ad_id(a));
    ASSERT_EQ(campaign_of(ad_id(a)), a / ads_per_campaign);
  }
  for (int c = 0; c < campaign_count; ++c) campaigns.insert(campaign_name(c));
  EXPECT_EQ(ads.size(), 1000u) << "ad ids are distinct";
  EXPECT_EQ(campaigns.size(), 100u);
  EXPECT_EQ(campaign_name(0).size(), 36u) << "UUID-shaped";
}

}  // namespace
}  // namespace streaming
