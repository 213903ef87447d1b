#include "actors/core/elf_symbols.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include "../../support/temp_dir.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#ifndef TRAIL_CHAIN_PATH
#error "TRAIL_CHAIN_PATH must name the built chain example library"
#endif
#ifndef TRAIL_TESTLIB_PATH
#error "TRAIL_TESTLIB_PATH must name the built test function library"
#endif

namespace trail::core {
namespace {

namespace fs = std::filesystem;
using trail::testing::has;
using trail::testing::temp_dir;

std::string chain_bytes() {
  std::ifstream in(TRAIL_CHAIN_PATH, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_GT(s.str().size(), sizeof(Elf64_Ehdr));
  return s.str();
}

template <class T>
T get(const std::string& bytes, std::size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

template <class T>
void put(std::string& bytes, std::size_t offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof v);
}

// Offset in `bytes` of the .dynsym section header.
std::size_t dynsym_header(const std::string& bytes) {
  const auto h = get<Elf64_Ehdr>(bytes, 0);
  for (std::size_t i = 0; i < h.e_shnum; ++i) {
    const std::size_t at = h.e_shoff + i * sizeof(Elf64_Shdr);
    if (get<Elf64_Shdr>(bytes, at).sh_type == SHT_DYNSYM) return at;
  }
  ADD_FAILURE() << "no .dynsym";
  return 0;
}

// The error message of reading `so`, which must fail with `code`.
std::string error_of(const fs::path& so, errc code = errc::invalid_argument) {
  auto r = exported_symbols(so);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code(), code) << r.error().to_string();
  EXPECT_TRUE(has(r.error().message(), "\"" + so.string() + "\"")) << "quotes the path";
  return r.error().message();
}

// A copy of the chain library with `patch` applied, and its error message.
template <class Patch>
std::string patched_error(Patch patch) {
  temp_dir dir;
  std::string bytes = chain_bytes();
  patch(bytes);
  return error_of(dir.write("libpatched.so", bytes));
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ElfSymbols, ListsTheChainFunctions) {
  auto r = exported_symbols(TRAIL_CHAIN_PATH);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  for (const char* name : {"trail_function_first", "trail_function_second", "trail_function_third"})
    EXPECT_TRUE(contains(*r, name)) << name;
  EXPECT_FALSE(contains(*r, "trail_function_fourth"));
}

TEST(ElfSymbols, ListsTheTestLibraryFunctions) {
  auto r = exported_symbols(TRAIL_TESTLIB_PATH);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  for (const char* name : {"trail_function_noop", "trail_function_echo", "trail_function_throws"})
    EXPECT_TRUE(contains(*r, name)) << name;
}

TEST(ElfSymbols, LeavesOutUndefinedSymbols) {
  auto r = exported_symbols(TRAIL_CHAIN_PATH);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(contains(*r, "_Unwind_Resume"));  // imported (U)
  EXPECT_FALSE(contains(*r, "__cxa_finalize"));  // weak import (w)
  EXPECT_FALSE(contains(*r, ""));
}

TEST(ElfSymbols, MissingFileIsNotFound) {
  temp_dir dir;
  EXPECT_TRUE(has(error_of(dir.path() / "libnope.so", errc::not_found), "not found"));
}

TEST(ElfSymbols, RejectsATextFile) {
  temp_dir dir;
  EXPECT_TRUE(
      has(error_of(dir.write("libtext.so", "hello, I am not a library\n")), "is not an ELF file"));
}

TEST(ElfSymbols, RejectsAnEmptyFile) {
  temp_dir dir;
  EXPECT_TRUE(has(error_of(dir.write("libempty.so", "")), "is not an ELF file"));
}

TEST(ElfSymbols, RejectsADirectory) {
  temp_dir dir;
  EXPECT_TRUE(has(error_of(dir.path()), "is not a regular file"));
}

TEST(ElfSymbols, RejectsA32BitFile) {
  auto msg = patched_error([](std::string& b) { b[EI_CLASS] = ELFCLASS32; });
  EXPECT_TRUE(has(msg, "is not a 64-bit ELF file"));
}

TEST(ElfSymbols, RejectsAnExecutable) {
  auto msg = patched_error(
      [](std::string& b) { put<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_type), ET_EXEC); });
  EXPECT_TRUE(has(msg, "is not a shared object (ELF type ET_EXEC"));
}

TEST(ElfSymbols, RejectsAnotherMachine) {
  auto msg = patched_error(
      [](std::string& b) { put<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_machine), EM_RISCV); });
  EXPECT_TRUE(has(msg, "ELF machine " + std::to_string(EM_RISCV)));
}

TEST(ElfSymbols, RejectsATruncatedHeader) {
  auto msg = patched_error([](std::string& b) { b.resize(20); });
  EXPECT_TRUE(has(msg, "truncated or corrupt: the ELF header"));
}

TEST(ElfSymbols, RejectsATruncatedFile) {
  auto msg = patched_error([](std::string& b) { b.resize(b.size() / 2); });
  EXPECT_TRUE(has(msg, "truncated or corrupt"));
}

TEST(ElfSymbols, RejectsSectionHeadersOutsideTheFile) {
  auto msg = patched_error(
      [](std::string& b) { put<Elf64_Off>(b, offsetof(Elf64_Ehdr, e_shoff), ~Elf64_Off{0} - 8); });
  EXPECT_TRUE(has(msg, "the section header table lies outside the file"));
}

TEST(ElfSymbols, RejectsAFileWithoutSectionHeaders) {
  auto msg =
      patched_error([](std::string& b) { put<Elf64_Half>(b, offsetof(Elf64_Ehdr, e_shnum), 0); });
  EXPECT_TRUE(has(msg, "has no section headers"));
}

TEST(ElfSymbols, RejectsAMissingDynsym) {
  auto msg = patched_error([](std::string& b) {
    put<Elf64_Word>(b, dynsym_header(b) + offsetof(Elf64_Shdr, sh_type), SHT_PROGBITS);
  });
  EXPECT_TRUE(has(msg, "has no dynamic symbol table"));
}

TEST(ElfSymbols, RejectsABadStringTableLink) {
  auto msg = patched_error([](std::string& b) {
    put<Elf64_Word>(b, dynsym_header(b) + offsetof(Elf64_Shdr, sh_link), 0xffff);
  });
  EXPECT_TRUE(has(msg, "malformed .dynsym"));
}

TEST(ElfSymbols, RejectsADynsymOutsideTheFile) {
  auto msg = patched_error([](std::string& b) {
    put<Elf64_Off>(b, dynsym_header(b) + offsetof(Elf64_Shdr, sh_offset), b.size());
  });
  EXPECT_TRUE(has(msg, ".dynsym lies outside the file"));
}

TEST(ElfSymbols, RejectsASymbolNameOutsideTheStringTable) {
  auto msg = patched_error([](std::string& b) {
    const auto dynsym = get<Elf64_Shdr>(b, dynsym_header(b));
    const std::size_t count = dynsym.sh_size / sizeof(Elf64_Sym);
    for (std::size_t i = 1; i < count; ++i)  // every symbol: the exported ones included
      put<Elf64_Word>(b, dynsym.sh_offset + i * sizeof(Elf64_Sym) + offsetof(Elf64_Sym, st_name),
                      0xfffffff0);
  });
  EXPECT_TRUE(has(msg, "a symbol name lies outside .dynstr"));
}

}  // namespace
}  // namespace trail::core
