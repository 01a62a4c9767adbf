// symbolizer.h: turns a frame's (module path, ELF virtual address) into function, file
// and line with elfutils' libdwfl, expanding calls that were inlined at that address.
// Report side: runs after the tracked program has ended, in the heapwarden tool or a
// helper process; allocates freely.
#ifndef HEAPWARDEN_LIB_REPORT_SYMBOLIZER_H_
#define HEAPWARDEN_LIB_REPORT_SYMBOLIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace heapwarden::report {

// One source-level frame. A machine frame yields one of these, or several when the code
// at its address was inlined: then all but the last have `inlined` set.
struct SourceFrame {
  std::string function = "??";  // demangled; "??" when no symbol covers the address
  std::string file;             // empty when there is no DWARF line information
  int line = 0;                 // 0 when there is no DWARF line information
  bool inlined = false;         // this function was inlined into the next frame's
};

struct SymbolizerOptions {
  // Expand inlined calls into extra frames (dwarf_getscopes). Off: one frame per
  // address, named after the enclosing out-of-line function.
  bool expand_inlined = true;
};

// Symbolizer
//
// Opens each module file once (one Dwfl per path, reported at base 0 so that a query
// address is the ELF virtual address, what addr2line takes) and caches every answer.
// Separate debug information is found the standard way: /usr/lib/debug/.build-id and
// .gnu_debuglink. debuginfod is never contacted: the constructor unsets DEBUGINFOD_URLS
// for the whole process, because a symbolizer that runs at a program's exit must not
// wait on the network.
//
// Never fails: a missing, unreadable or non-ELF module, "[vdso]", "" (an address
// outside every module) or an address no symbol covers all give function "??".
// Not thread-safe.
class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options = {});
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // SymbolizeReturnAddress()
  //
  // Frames (innermost first) for the return address at ELF virtual address `offset` of
  // `module`. The lookup uses offset-1, which lies inside the call instruction, so the
  // answer names the call's line even when the call is the last instruction of its
  // function or of an inlined block.
  std::vector<SourceFrame> SymbolizeReturnAddress(const std::string& module, uint64_t offset);

  // SymbolizeAddress()
  //
  // As above for an exact code address (a function's entry, a faulting pc): no -1.
  std::vector<SourceFrame> SymbolizeAddress(const std::string& module, uint64_t address);

 private:
  class ModuleDebugInfo;

  // Returns the module's debug information, opening it on first use; nullptr when the
  // module cannot be read (remembered, so a missing file is tried once).
  ModuleDebugInfo* FindModule(const std::string& path);

  SymbolizerOptions options_;
  absl::flat_hash_map<std::string, std::unique_ptr<ModuleDebugInfo>> modules_;
  absl::flat_hash_map<std::pair<std::string, uint64_t>, std::vector<SourceFrame>> cache_;
};

// Demangle()
//
// The demangled form of an Itanium C++ symbol ("_ZN3foo3barEv" -> "foo::bar()"); other
// names (C functions, already demangled text) unchanged.
std::string Demangle(const char* name);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_SYMBOLIZER_H_
