#include "actors/core/elf_symbols.hpp"

#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace trail::core {

namespace fs = std::filesystem;

namespace {

// The ELF machine of the libraries this build can load.
#if defined(__aarch64__)
constexpr std::uint16_t native_machine = EM_AARCH64;
constexpr std::string_view native_machine_name = "aarch64";
#else
constexpr std::uint16_t native_machine = EM_X86_64;
constexpr std::string_view native_machine_name = "x86-64";
#endif

// An ELF file opened for bounds-checked reads. Every error names the file.
struct elf_file {
  std::ifstream in;
  std::uint64_t size = 0;
  std::string who;  // `library "<path>"`

  status invalid(std::string_view why) const {
    return status::invalid(who + " " + std::string(why));
  }
  status corrupt(std::string_view what) const {
    return invalid("is truncated or corrupt: " + std::string(what) + " lies outside the file");
  }

  // Reads `count` elements of T at `offset` into `out`. Fails, naming
  // `what`, when the range is not inside the file.
  template <class T>
  status read(std::uint64_t offset, std::uint64_t count, std::vector<T>& out,
              std::string_view what) {
    if (offset > size || count > (size - offset) / sizeof(T)) return corrupt(what);
    out.resize(count);
    if (count == 0) return {};
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(count * sizeof(T)));
    if (!in) return status::internal(who + ": reading " + std::string(what) + " failed");
    return {};
  }
};

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

result<elf_file> open_elf(const fs::path& so) {
  elf_file f{{}, 0, "library " + quoted(so)};
  std::error_code ec;
  const fs::file_status st = fs::status(so, ec);
  if (!fs::exists(st)) return status::not_found(f.who + " not found");
  if (!fs::is_regular_file(st)) return f.invalid("is not a regular file");
  f.size = fs::file_size(so, ec);
  if (ec) return status::internal(f.who + ": cannot get its size: " + ec.message());
  f.in.open(so, std::ios::binary);
  if (!f.in) return f.invalid(std::string("cannot be opened: ") + std::strerror(errno));
  return f;
}

std::string type_name(std::uint16_t type) {
  switch (type) {
    case ET_REL: return "ET_REL, a relocatable object";
    case ET_EXEC: return "ET_EXEC, an executable";
    case ET_CORE: return "ET_CORE, a core dump";
    default: return std::to_string(type);
  }
}

// REQUIRES: `h` holds the first min(size, sizeof h) bytes of the file, the
// rest zero.
status check_header(const elf_file& f, const Elf64_Ehdr& h) {
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) return f.invalid("is not an ELF file");
  if (h.e_ident[EI_CLASS] != ELFCLASS64) return f.invalid("is not a 64-bit ELF file");
  if (h.e_ident[EI_DATA] != ELFDATA2LSB) return f.invalid("is not a little-endian ELF file");
  if (f.size < sizeof h) return f.corrupt("the ELF header");
  if (h.e_type != ET_DYN)
    return f.invalid("is not a shared object (ELF type " + type_name(h.e_type) +
                     "; expected ET_DYN)");
  if (h.e_machine != native_machine)
    return f.invalid("is built for ELF machine " + std::to_string(h.e_machine) + "; expected " +
                     std::string(native_machine_name) + " (" + std::to_string(native_machine) +
                     ")");
  if (h.e_shnum == 0) return f.invalid("has no section headers, so no .dynsym to read");
  if (h.e_shentsize != sizeof(Elf64_Shdr)) return f.corrupt("the section header table");
  return {};
}

result<Elf64_Ehdr> read_header(elf_file& f) {
  std::vector<char> bytes;
  const std::uint64_t n = std::min<std::uint64_t>(f.size, sizeof(Elf64_Ehdr));
  if (auto st = f.read(0, n, bytes, "the ELF header"); !st.ok()) return st;
  Elf64_Ehdr h{};
  if (!bytes.empty()) std::memcpy(&h, bytes.data(), bytes.size());
  if (auto st = check_header(f, h); !st.ok()) return st;
  return h;
}

// The dynamic symbols and the string table their names point into.
struct dynamic_table {
  std::vector<Elf64_Sym> symbols;
  std::vector<char> strings;
};

result<dynamic_table> read_dynsym(elf_file& f, const Elf64_Ehdr& h) {
  std::vector<Elf64_Shdr> sections;
  if (auto st = f.read(h.e_shoff, h.e_shnum, sections, "the section header table"); !st.ok())
    return st;
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_type != SHT_DYNSYM) continue;
    if (s.sh_entsize != sizeof(Elf64_Sym) || s.sh_link >= sections.size())
      return f.invalid("is corrupt: malformed .dynsym section header");
    const Elf64_Shdr& str = sections[s.sh_link];
    dynamic_table t;
    if (auto st = f.read(s.sh_offset, s.sh_size / sizeof(Elf64_Sym), t.symbols, ".dynsym");
        !st.ok())
      return st;
    if (auto st = f.read(str.sh_offset, str.sh_size, t.strings, ".dynstr"); !st.ok()) return st;
    return t;
  }
  return f.invalid("has no dynamic symbol table (.dynsym)");
}

// Defined and reachable through dlsym.
bool is_exported(const Elf64_Sym& s) {
  const unsigned bind = ELF64_ST_BIND(s.st_info);
  const unsigned type = ELF64_ST_TYPE(s.st_info);
  const unsigned visibility = ELF64_ST_VISIBILITY(s.st_other);
  const bool global = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
  const bool kind = type == STT_FUNC || type == STT_OBJECT || type == STT_GNU_IFUNC;
  const bool visible = visibility == STV_DEFAULT || visibility == STV_PROTECTED;
  return s.st_shndx != SHN_UNDEF && global && kind && visible;
}

result<std::vector<std::string>> exported_names(const elf_file& f, const dynamic_table& t) {
  std::vector<std::string> names;
  for (const Elf64_Sym& s : t.symbols) {
    if (!is_exported(s)) continue;
    if (s.st_name >= t.strings.size())
      return f.invalid("is corrupt: a symbol name lies outside .dynstr");
    const char* begin = t.strings.data() + s.st_name;
    const void* end = std::memchr(begin, '\0', t.strings.size() - s.st_name);
    if (!end) return f.invalid("is corrupt: unterminated symbol name in .dynstr");
    if (*begin != '\0') names.emplace_back(begin, static_cast<const char*>(end));
  }
  return names;
}

}  // namespace

result<std::vector<std::string>> exported_symbols(const fs::path& so) {
  auto file = open_elf(so);
  if (!file) return file.error();
  auto header = read_header(*file);
  if (!header) return header.error();
  auto table = read_dynsym(*file, *header);
  if (!table) return table.error();
  return exported_names(*file, *table);
}

}  // namespace trail::core
