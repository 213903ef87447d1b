#include "actors/core/manifest.hpp"

#include <gtest/gtest.h>

#include "../../support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#ifndef TRAIL_CHAIN_PATH
#error "TRAIL_CHAIN_PATH must name the built chain example library"
#endif

namespace trail::core {
namespace {

namespace fs = std::filesystem;
using trail::testing::has;
using trail::testing::temp_dir;

// The issue's example.
constexpr std::string_view wordcount = R"(app: wordcount
library: libwordcount.so
entry: split
functions:
  - { name: split }
  - { name: count, timeout_ms: 5000, retries: 3 }
  - { name: merge }
buckets:
  - name: words
    triggers:
      - { name: by-word, type: dynamic_group, target: count, producers: 1 }
  - name: counts
    triggers:
      - { type: by_batch_size, count: 4, target: merge, scope: session }
)";

// An app with functions f and g, and `rest` appended.
std::string app(const std::string& rest = "") {
  return "app: a\nlibrary: liba.so\nentry: f\nfunctions:\n  - { name: f }\n  - { name: g }\n" +
         rest;
}

// An app whose bucket "b" has the triggers `t1` (and `t2`).
std::string triggers(const std::string& t1, const std::string& t2 = "") {
  return app("buckets:\n  - name: b\n    triggers:\n      - " + t1 + "\n" +
             (t2.empty() ? "" : "      - " + t2 + "\n"));
}

app_manifest parsed(std::string_view yaml, const fs::path& dir = "/apps/wc") {
  auto r = parse_manifest(yaml, dir);
  EXPECT_TRUE(r.ok()) << r.error().to_string() << "\n" << yaml;
  return r.ok() ? std::move(r).value() : app_manifest{};
}

std::string error_of(std::string_view yaml) {
  auto r = parse_manifest(yaml, "/apps/wc");
  EXPECT_FALSE(r.ok()) << yaml;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code(), errc::invalid_argument) << r.error().to_string();
  return r.error().message();
}

// -- good manifests -------------------------------------------------------------

TEST(Manifest, ParsesTheIssueExample) {
  const app_manifest m = parsed(wordcount);
  EXPECT_EQ(m.app, "wordcount");
  EXPECT_EQ(m.entry, "split");
  ASSERT_EQ(m.functions.size(), 3u);
  EXPECT_EQ(m.functions[1].name, "count");
  ASSERT_EQ(m.buckets.size(), 2u);
  EXPECT_EQ(m.buckets[0].name, "words");
  ASSERT_EQ(m.buckets[0].triggers.size(), 1u);
  const trigger_spec& by_word = m.buckets[0].triggers[0];
  EXPECT_EQ(by_word.name, "by-word");
  EXPECT_EQ(by_word.type, "dynamic_group");
  EXPECT_EQ(by_word.target, "count");
  EXPECT_EQ(by_word.producers, std::optional<std::uint32_t>(1));
  const trigger_spec& batch = m.buckets[1].triggers.at(0);
  EXPECT_EQ(batch.type, "by_batch_size");
  EXPECT_EQ(batch.count, 4u);
  EXPECT_EQ(batch.sc, scope::session);
}

TEST(Manifest, AppliesDefaultsAndOverrides) {
  const app_manifest m = parsed(wordcount);
  const function_spec* split = m.function("split");
  const function_spec* count = m.function("count");
  ASSERT_TRUE(split && count);
  EXPECT_EQ(split->timeout_ms, 30000u);
  EXPECT_EQ(split->retries, 2u);
  EXPECT_EQ(split->node, "");
  EXPECT_EQ(count->timeout_ms, 5000u);
  EXPECT_EQ(count->retries, 3u);
  EXPECT_EQ(m.function("nope"), nullptr);
}

TEST(Manifest, ResolvesLibrariesAgainstTheManifestDirectory) {
  const app_manifest m = parsed(
      "app: a\nlibrary: lib/liba.so\nentry: f\nfunctions:\n  - { name: f }\n"
      "  - { name: g, library: ../shared/libg.so, node: n2 }\n"
      "  - { name: h, library: /opt/libh.so, retries: 0 }\n");
  EXPECT_EQ(m.functions[0].library, "/apps/wc/lib/liba.so");
  EXPECT_EQ(m.functions[1].library, "/apps/shared/libg.so");
  EXPECT_EQ(m.functions[1].node, "n2");
  EXPECT_EQ(m.functions[2].library, "/opt/libh.so");
  EXPECT_EQ(m.functions[2].retries, 0u);
}

TEST(Manifest, MakesRelativeManifestDirectoriesAbsolute) {
  const app_manifest m = parsed(app(), "rel/dir");
  EXPECT_EQ(m.functions[0].library, (fs::current_path() / "rel/dir/liba.so").string());
}

TEST(Manifest, NamesUnnamedTriggersByBucketAndIndex) {
  const app_manifest m = parsed(triggers("{ type: immediate, target: g }",
                                         "{ type: by_name, key: k, target: f, scope: app }"));
  EXPECT_EQ(m.buckets[0].triggers[0].name, "b/0");
  EXPECT_EQ(m.buckets[0].triggers[1].name, "b/1");
  EXPECT_EQ(m.buckets[0].triggers[1].key, "k");
  EXPECT_EQ(m.buckets[0].triggers[1].sc, scope::app);
}

TEST(Manifest, ReadsTheParametersOfEveryTriggerType) {
  const app_manifest m =
      parsed(app("buckets:\n  - name: b1\n    triggers:\n"
                 "      - { type: by_set, keys: [x, y], target: g }\n"
                 "      - { type: by_time, window_ms: 250, target: g, scope: app }\n"
                 "      - { type: redundant, k: 2, n: 3, target: g }\n"
                 "      - { type: dynamic_join, target: g }\n"
                 "  - name: b2\n    triggers:\n      - { type: dynamic_group, target: f }\n"
                 "  - name: b3\n"));
  ASSERT_EQ(m.buckets.size(), 3u);
  const auto& t = m.buckets[0].triggers;
  EXPECT_EQ(t.at(0).keys, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(t.at(1).window_ms, 250u);
  EXPECT_EQ(t.at(2).k, 2u);
  EXPECT_EQ(t.at(2).n, 3u);
  EXPECT_EQ(m.buckets[1].triggers.at(0).producers, std::nullopt);
  EXPECT_TRUE(m.buckets[2].triggers.empty());
  for (const auto& b : m.buckets)
    for (const auto& spec : b.triggers) EXPECT_TRUE(make_trigger(spec).ok()) << spec.type;
}

TEST(Manifest, BucketsAreOptional) {
  EXPECT_TRUE(parsed(app()).buckets.empty());
}

TEST(Manifest, BucketsKeepTheirObjectsInTheSessionUnlessToldToKeepThemInTheApp) {
  auto m = parsed(app("buckets:\n  - name: s\n  - { name: k, keep: app }\n  - { name: t, keep: session }\n"));
  ASSERT_EQ(m.buckets.size(), 3u);
  EXPECT_FALSE(m.buckets[0].keep_app);
  EXPECT_TRUE(m.buckets[1].keep_app);
  EXPECT_FALSE(m.buckets[2].keep_app);
}

TEST(Manifest, ATextOverTheSizeLimitIsRefusedBeforeItIsParsed) {
  std::string huge = app("# " + std::string(max_manifest_bytes, 'x') + "\n");
  auto r = parse_manifest(huge, "/apps/wc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("larger than"), std::string::npos) << r.error().to_string();
}

// -- bad manifests ----------------------------------------------------------------

struct bad_case {
  std::string name;   // the test's name
  std::string yaml;   // the manifest
  std::string path;   // the field path the message names
  std::string value;  // the quoted offending value the message contains
};

std::vector<bad_case> bad_cases() {
  const std::string fns = "functions:\n  - { name: f }\n";
  return {
      {"MissingApp", "library: l.so\nentry: f\n" + fns, "app", "\"app\""},
      {"BadAppName", "app: word count\nlibrary: l.so\nentry: f\n" + fns, "app", "\"word count\""},
      {"DotDotAppName", "app: ..\nlibrary: l.so\nentry: f\n" + fns, "app", "\"..\""},
      {"SlashInBucketName", app("buckets:\n  - name: a/b\n"), "buckets[0].name", "\"a/b\""},
      {"DotDotBucketName", app("buckets:\n  - name: ..\n"), "buckets[0].name", "\"..\""},
      {"ControlByteInAppName", "app: \"a\\tb\"\nlibrary: l.so\nentry: f\n" + fns, "app", "\"a\\x09b\""},
      {"MissingEntry", "app: a\nlibrary: l.so\n" + fns, "entry", "\"entry\""},
      {"UnknownEntry", "app: a\nlibrary: l.so\nentry: nope\n" + fns, "entry", "\"nope\""},
      {"UnknownTopLevelKey", app("trigger: x\n"), "trigger", "\"trigger\""},
      {"MissingFunctions", "app: a\nlibrary: l.so\nentry: f\n", "functions", "\"functions\""},
      {"EmptyFunctions", "app: a\nentry: f\nfunctions: []\n", "functions", "an empty list"},
      {"FunctionNotAMap", "app: a\nlibrary: l.so\nentry: f\nfunctions: [f]\n", "functions[0]",
       "\"f\""},
      {"DuplicateFunction", app("  - { name: f }\n"), "functions[2].name", "\"f\""},
      {"FunctionNameNotAnIdentifier", app("  - { name: my-fn }\n"), "functions[2].name",
       "\"my-fn\""},
      {"DuplicateYamlKey", app("  - { name: h, name: i }\n"), "functions[2].name", "\"name\""},
      {"NoLibrary", "app: a\nentry: f\n" + fns, "functions[0].library", "\"f\""},
      {"NonNumericTimeout", app("  - { name: h, timeout_ms: soon }\n"), "functions[2].timeout_ms",
       "\"soon\""},
      {"ZeroTimeout", app("  - { name: h, timeout_ms: 0 }\n"), "functions[2].timeout_ms", "\"0\""},
      {"HugeTimeout", app("  - { name: h, timeout_ms: 5000000000 }\n"), "functions[2].timeout_ms",
       "\"5000000000\""},
      {"NegativeRetries", app("  - { name: h, retries: -1 }\n"), "functions[2].retries", "\"-1\""},
      {"FractionalRetries", app("  - { name: h, retries: 1.5 }\n"), "functions[2].retries",
       "\"1.5\""},
      {"UnknownFunctionKey", app("  - { name: h, memory: 64 }\n"), "functions[2].memory",
       "\"memory\""},
      {"UnknownTriggerType", triggers("{ type: by_size, target: f }"),
       "buckets[0].triggers[0].type", "\"by_size\" (expected one of: immediate, by_name"},
      {"MissingTriggerType", triggers("{ target: f }"), "buckets[0].triggers[0].type", "\"type\""},
      {"MissingTarget", triggers("{ type: immediate }"), "buckets[0].triggers[0].target",
       "\"target\""},
      {"UnknownTarget", triggers("{ type: immediate, target: mrege }"),
       "buckets[0].triggers[0].target", "\"mrege\""},
      {"CountZero", triggers("{ type: by_batch_size, count: 0, target: f }"),
       "buckets[0].triggers[0]", "count must be at least 1, got \"0\""},
      {"MissingCount", triggers("{ type: by_batch_size, target: f }"),
       "buckets[0].triggers[0].count", "\"count\""},
      {"KGreaterThanN", triggers("{ type: redundant, k: 3, n: 2, target: f }"),
       "buckets[0].triggers[0]", "got \"2\""},
      {"EmptyKeys", triggers("{ type: by_set, keys: [], target: f }"), "buckets[0].triggers[0]",
       "keys must not be empty, got []"},
      {"DuplicateSetKey", triggers("{ type: by_set, keys: [x, x], target: f }"),
       "buckets[0].triggers[0]", "duplicate key \"x\""},
      {"KeysNotStrings", triggers("{ type: by_set, keys: [x, [y]], target: f }"),
       "buckets[0].triggers[0].keys[1]", "a list"},
      {"ZeroWindow", triggers("{ type: by_time, window_ms: 0, target: f }"),
       "buckets[0].triggers[0]", "window_ms must be between 1"},
      {"ZeroProducers", triggers("{ type: dynamic_group, producers: 0, target: f }"),
       "buckets[0].triggers[0]", "producers must be at least 1, got \"0\""},
      {"KeyOfAnotherType", triggers("{ type: by_name, key: k, count: 3, target: f }"),
       "buckets[0].triggers[0].count", "\"count\" for a by_name trigger"},
      {"UnknownScope", triggers("{ type: immediate, target: f, scope: global }"),
       "buckets[0].triggers[0].scope", "\"global\""},
      {"AppScopeOnBySet", triggers("{ type: by_set, keys: [x], target: f, scope: app }"),
       "buckets[0].triggers[0]", "scope \"app\" is not allowed"},
      {"AppScopeOnDynamicGroup", triggers("{ type: dynamic_group, target: f, scope: app }"),
       "buckets[0].triggers[0]", "scope \"app\""},
      {"AppScopeOnDynamicJoin", triggers("{ type: dynamic_join, target: f, scope: app }"),
       "buckets[0].triggers[0]", "scope \"app\""},
      {"TwoDynamicTriggers",
       triggers("{ type: dynamic_group, target: f }", "{ type: dynamic_join, target: g }"),
       "buckets[0].triggers[1].type", "\"dynamic_join\""},
      {"DuplicateTriggerName",
       triggers("{ name: t, type: immediate, target: f }",
                "{ name: t, type: immediate, target: g }"),
       "buckets[0].triggers[1].name", "\"t\""},
      {"DuplicateBucket", app("buckets:\n  - name: b\n  - name: b\n"), "buckets[1].name", "\"b\""},
      {"EmptyBucketName", app("buckets:\n  - name: \"\"\n"), "buckets[0].name", "\"\""},
      {"NulInBucketName", app("buckets:\n  - name: \"a\\0b\"\n"), "buckets[0].name", "\"a\\x00b\""},
      {"BucketsNotAList", app("buckets: words\n"), "buckets", "\"words\""},
      {"UnknownKeep", app("buckets:\n  - { name: b, keep: forever }\n"), "buckets[0].keep", "\"forever\""},
      {"TriggersNotAList", app("buckets:\n  - { name: b, triggers: 3 }\n"), "buckets[0].triggers",
       "\"3\""},
  };
}

class BadManifest : public ::testing::TestWithParam<bad_case> {};

TEST_P(BadManifest, NamesThePathAndQuotesTheValue) {
  const std::string msg = error_of(GetParam().yaml);
  EXPECT_TRUE(has(msg, GetParam().path + ": ")) << GetParam().yaml;
  EXPECT_TRUE(has(msg, GetParam().value)) << GetParam().yaml;
  EXPECT_TRUE(has(msg, "manifest line ")) << "every case has a YAML position";
}

INSTANTIATE_TEST_SUITE_P(Manifest, BadManifest, ::testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Manifest, GivesLineAndColumnOfTheOffendingValue) {
  const std::string msg = error_of(triggers("{ type: by_size, target: f }"));
  EXPECT_TRUE(has(msg,
                  "manifest line 10, column 17: buckets[0].triggers[0].type: "
                  "unknown trigger type \"by_size\""));
}

TEST(Manifest, ReportsYamlSyntaxErrorsWithTheirLine) {
  const std::string msg = error_of("app: a\nfunctions: [ { name: f }\nentry: f\n");
  EXPECT_TRUE(has(msg, "manifest line 3"));
  EXPECT_TRUE(has(msg, "YAML syntax error"));
}

TEST(Manifest, RejectsEmptyAndMultiDocumentText) {
  EXPECT_TRUE(has(error_of(""), "manifest: is empty"));
  EXPECT_TRUE(has(error_of("# nothing\n"), "manifest: is empty"));
  EXPECT_TRUE(has(error_of("just text\n"), "top level: must be a map, got \"just text\""));
  EXPECT_TRUE(has(error_of(app() + "---\n" + app()), "expected one YAML document, got 2"));
}

// -- files and libraries -------------------------------------------------------

const fs::path chain = TRAIL_CHAIN_PATH;

// The chain example's manifest with `library` and one more function `extra`.
std::string chain_app(const std::string& library, const std::string& extra = "") {
  return "app: chain\nlibrary: " + library +
         "\nentry: first\nfunctions:\n  - { name: first }\n  - { name: second }\n"
         "  - { name: third }\n" +
         (extra.empty() ? "" : "  - { name: " + extra + " }\n");
}

TEST(LoadManifest, ResolvesLibrariesAgainstTheFilesDirectory) {
  temp_dir dir;
  auto r = load_manifest(dir.write("app.yaml", app()));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->functions[0].library, (dir.path() / "liba.so").string());
}

TEST(LoadManifest, ErrorsNameTheFile) {
  temp_dir dir;
  const fs::path file = dir.write("app.yaml", "app: a\n");
  auto r = load_manifest(file);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.error().message(), "manifest \"" + file.string() + "\" line 1, column 1: "));
}

TEST(LoadManifest, MissingFileIsNotFound) {
  temp_dir dir;
  auto r = load_manifest(dir.path() / "no-such-manifest.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), errc::not_found);
  EXPECT_TRUE(has(r.error().message(), "no-such-manifest.yaml\": no such file"));
}

TEST(CheckLibraries, AcceptsTheChainExample) {
  const app_manifest m = parsed(chain_app(chain.string()));
  EXPECT_TRUE(check_libraries(m).ok()) << check_libraries(m).to_string();
}

TEST(CheckLibraries, AcceptsARelativeLibraryNextToTheManifest) {
  const app_manifest m = parsed(chain_app(chain.filename().string()), chain.parent_path());
  EXPECT_EQ(m.functions[0].library, chain.lexically_normal().string());
  EXPECT_TRUE(check_libraries(m).ok()) << check_libraries(m).to_string();
}

TEST(CheckLibraries, RejectsAFunctionTheLibraryDoesNotExport) {
  const status st = check_libraries(parsed(chain_app(chain.string(), "fourth")));
  EXPECT_EQ(st.code(), errc::not_found);
  EXPECT_TRUE(has(st.message(), "functions[3].name: "));
  EXPECT_TRUE(has(st.message(), "\"" + chain.string() + "\""));
  EXPECT_TRUE(has(st.message(), "\"trail_function_fourth\""));
}

TEST(CheckLibraries, RejectsAMissingLibrary) {
  temp_dir dir;
  const fs::path lib = dir.path() / "libmissing.so";
  const status st = check_libraries(parsed(chain_app(lib.string())));
  EXPECT_EQ(st.code(), errc::not_found);
  EXPECT_TRUE(
      has(st.message(), "functions[0].library: library \"" + lib.string() + "\" not found"));
}

TEST(CheckLibraries, RejectsANonElfLibrary) {
  temp_dir dir;
  const fs::path lib = dir.write("libtext.so", "not a library\n");
  const status st = check_libraries(parsed(chain_app(lib.string())));
  EXPECT_EQ(st.code(), errc::invalid_argument);
  EXPECT_TRUE(has(st.message(),
                  "functions[0].library: library \"" + lib.string() + "\" is not an ELF file"));
}

}  // namespace
}  // namespace trail::core
