// Reads the exported symbols of a shared object without loading it.
//
// Loading a library (dlopen) runs its static initialisers, which may crash or
// hang the caller; deploy-time checks therefore read the ELF file instead.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <trail/status.hpp>

namespace trail::core {

// Names of the defined, exported symbols in the dynamic symbol table
// (.dynsym/.dynstr) of the ELF64 shared object `so`: binding global, weak or
// unique; visibility default or protected (both reachable by dlsym); type
// function, object or ifunc. Names are as stored (no version suffix), in
// table order.
//
// Errors quote the path: not_found when `so` does not exist; invalid_argument
// when it is not a regular file, not ELF, not ELF64 little-endian, not ET_DYN,
// built for another machine than this one, has no .dynsym, or is truncated or
// corrupt; internal when reading fails.
result<std::vector<std::string>> exported_symbols(const std::filesystem::path& so);

}  // namespace trail::core
