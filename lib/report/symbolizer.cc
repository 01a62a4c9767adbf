// symbolizer.cc: module path + ELF virtual address -> function, file, line, with
// elfutils' libdwfl, expanding inlined calls with dwarf_getscopes.
// Report side.
#include "report/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cstdlib>
#include <string_view>
#include <tuple>

namespace heapwarden::report {
namespace {

// NULL selects libdwfl's default search path, ":.debug:/usr/lib/debug", which covers
// both .build-id/xx/yyyy.debug and .gnu_debuglink files.
char* debuginfo_path = nullptr;

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

// Name of a function DIE: the demangled linkage name when there is one (it carries the
// namespace and class that DW_AT_name lacks), else DW_AT_name. Both are looked up through
// DW_AT_abstract_origin/DW_AT_specification, where an inlined instance keeps them.
std::string DieFunctionName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (name == nullptr) {
    name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  }
  if (name == nullptr) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name == nullptr ? std::string("??") : Demangle(name);
}

// `path` made absolute against the unit's compilation directory, as llvm-symbolizer and
// addr2line print it, with "." and ".." folded: a build that compiles
// "../src/a.cc" from build/ reports /project/src/a.cc.
std::string AbsoluteSourcePath(Dwarf_Die* cudie, const char* path) {
  std::string joined = path;
  if (!joined.empty() && joined[0] != '/') {
    Dwarf_Attribute attr;
    const char* dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
    if (dir == nullptr || dir[0] != '/') return joined;
    joined = std::string(dir) + "/" + joined;
  }
  std::vector<std::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string result;
  for (std::string_view part : parts) {
    result += '/';
    result += part;
  }
  return result.empty() ? "/" : result;
}

// Where an inlined instance was called from: DW_AT_call_file/DW_AT_call_line, resolved
// through the CU's file table. {"", 0} when absent.
std::pair<std::string, int> CallSite(Dwarf_Die* cudie, Dwarf_Die* inlined) {
  Dwarf_Attribute attr;
  Dwarf_Word line = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &line) != 0) line = 0;
  Dwarf_Word file_index = 0;
  std::string file;
  Dwarf_Files* files = nullptr;
  size_t file_count = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file_index) == 0 &&
      dwarf_getsrcfiles(cudie, &files, &file_count) == 0 && file_index < file_count) {
    const char* name = dwarf_filesrc(files, file_index, nullptr, nullptr);
    if (name != nullptr) file = AbsoluteSourcePath(cudie, name);
  }
  if (file.empty() || line == 0) return {"", 0};
  return {file, static_cast<int>(line)};
}

}  // namespace

std::string Demangle(const char* name) {
  if (name == nullptr) return "??";
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return name;
  std::string result(demangled);
  std::free(demangled);
  return result;
}

// One module file and its debug information.
class Symbolizer::ModuleDebugInfo {
 public:
  // Takes ownership of `dwfl`.
  ModuleDebugInfo(Dwfl* dwfl, Dwfl_Module* module) : dwfl_(dwfl), module_(module) {}
  ~ModuleDebugInfo() { dwfl_end(dwfl_); }
  ModuleDebugInfo(const ModuleDebugInfo&) = delete;
  ModuleDebugInfo& operator=(const ModuleDebugInfo&) = delete;

  // Opens `path` (a regular ELF file) or returns nullptr.
  static std::unique_ptr<ModuleDebugInfo> Open(const std::string& path) {
    // "" is an address outside every module, "[vdso]"/"[heap]"... are not files.
    if (path.empty() || path[0] == '[') return nullptr;
    // O_NONBLOCK and the S_ISREG check: a report naming a FIFO or a device as a module
    // must not make the symbolizer wait forever.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return nullptr;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      return nullptr;
    }
    Dwfl* dwfl = dwfl_begin(&kCallbacks);
    if (dwfl == nullptr) {
      close(fd);
      return nullptr;
    }
    dwfl_report_begin(dwfl);
    // Base 0 with add_p_vaddr: the module sits at its own p_vaddr with bias 0, so a
    // Dwfl address equals the ELF virtual address the report's "offset" holds. On
    // success the fd belongs to libdwfl.
    Dwfl_Module* module = dwfl_report_elf(dwfl, path.c_str(), path.c_str(), fd, 0, true);
    dwfl_report_end(dwfl, nullptr, nullptr);
    if (module == nullptr) {
      close(fd);
      dwfl_end(dwfl);
      return nullptr;
    }
    return std::make_unique<ModuleDebugInfo>(dwfl, module);
  }

  std::vector<SourceFrame> Lookup(Dwarf_Addr pc, bool expand_inlined) {
    // The out-of-line function: the ELF symbol (from .symtab of the file or its debug
    // file, else .dynsym) names it fully even when DWARF is missing.
    const char* symbol_name = FindSymbol(pc);

    // The unit whose own address ranges hold pc; none for code that came without debug
    // information (crt1.o's _start, a static library built without -g).
    Dwarf_Die cu_storage;
    Dwarf_Addr bias = 0;
    Dwarf_Die* cudie = FindUnit(pc, &cu_storage, &bias);

    std::string file;
    int line = 0;
    if (cudie != nullptr) {
      // Within the unit, libdw answers only from a line-table sequence that holds pc
      // (an address past a sequence's end gets none).
      if (Dwarf_Line* dwarf_line = dwarf_getsrc_die(cudie, pc - bias)) {
        int line_number = 0;
        const char* name = dwarf_linesrc(dwarf_line, nullptr, nullptr);
        if (name != nullptr && dwarf_lineno(dwarf_line, &line_number) == 0 && line_number > 0) {
          file = AbsoluteSourcePath(cudie, name);
          line = line_number;
        }
      }
    }

    std::vector<SourceFrame> frames;
    std::string subprogram_name;
    if (expand_inlined && cudie != nullptr) {
      Dwarf_Die* scopes = nullptr;
      int count = dwarf_getscopes(cudie, pc - bias, &scopes);
      // scopes[0] is the innermost. Each DW_TAG_inlined_subroutine is a function whose
      // body was copied into its caller: it gets the current position, and its call site
      // becomes the position of the next (enclosing) function.
      for (int i = 0; i < count; ++i) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine) {
          frames.push_back({DieFunctionName(&scopes[i]), file, line, true});
          std::tie(file, line) = CallSite(cudie, &scopes[i]);
        } else if (tag == DW_TAG_subprogram) {
          subprogram_name = DieFunctionName(&scopes[i]);
          break;
        }
      }
      std::free(scopes);
    }

    SourceFrame outer;
    if (symbol_name != nullptr) {
      // .symtab of glibc's debug file spells versioned symbols "name@@GLIBC_2.34"; the
      // version says nothing about the call site.
      std::string name = symbol_name;
      name.resize(std::min(name.size(), name.find('@')));
      outer.function = Demangle(name.c_str());
    } else if (!subprogram_name.empty()) {
      outer.function = subprogram_name;
    }
    outer.file = file;
    outer.line = line;
    frames.push_back(std::move(outer));
    return frames;
  }

 private:
  // One address range [low, high) of a compile unit, in DWARF addresses.
  struct UnitRange {
    Dwarf_Addr low;
    Dwarf_Addr high;
    Dwarf_Off unit;       // the unit DIE's offset in .debug_info
    Dwarf_Addr max_high;  // the highest `high` of this entry and all before it
  };

  // One symbol with a size, in the sorted index of a module's symbols.
  struct SizedSymbol {
    GElf_Addr start;
    GElf_Addr end;
    GElf_Addr max_end;  // the highest `end` of this entry and all before it
    const char* name;   // owned by libdwfl, alive as long as the module
    int binding;        // higher is preferred: global 3, weak 2, local 1
  };

  // The name of the symbol that covers `pc`. libdwfl's dwfl_module_addrinfo answers
  // this with a linear pass over the whole symbol table per address (0.8 ms an address
  // in a 12000-symbol binary; libLLVM has ten times as many); the index answers the
  // common case -- one sized symbol, or aliases at one address, hold pc -- by binary
  // search, choosing as libdwfl does (the strongest binding, then the first in table
  // order), and leaves the rest (nested symbols, sizeless labels) to libdwfl.
  const char* FindSymbol(Dwarf_Addr pc) {
    if (!symbols_indexed_) BuildSymbolIndex();
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), pc,
                               [](Dwarf_Addr a, const SizedSymbol& s) { return a < s.start; });
    if (it != symbols_.begin()) {
      auto group_end = it;
      const GElf_Addr start = std::prev(it)->start;
      auto group = std::prev(it);
      while (group != symbols_.begin() && std::prev(group)->start == start) --group;
      const bool nested = group != symbols_.begin() && std::prev(group)->max_end > pc;
      const SizedSymbol* best = nullptr;
      for (auto s = group; s != group_end; ++s) {
        if (pc < s->end && (best == nullptr || s->binding > best->binding)) best = &*s;
      }
      if (best != nullptr && !nested) return best->name;
    }
    if (ProvablyNameless(pc, it)) return nullptr;
    GElf_Off offset = 0;
    GElf_Sym symbol;
    return dwfl_module_addrinfo(module_, pc, &offset, &symbol, nullptr, nullptr, nullptr);
  }

  // True when libdwfl would name no symbol for `pc` either, so its linear pass can be
  // skipped: no sized symbol holds pc, and no sizeless one (an assembly label) could be
  // chosen -- libdwfl takes a label only at or past the end of every symbol that
  // starts at or before pc, and labels are the rare case. A stripped interpreter
  // (Debian's python3.11 keeps only .dynsym) has its static functions' return
  // addresses here: 1,061 of numpy_work.py's 1,312 python3.11 frames, each a pass over
  // the whole table. `after` is the first sized symbol starting past pc.
  bool ProvablyNameless(Dwarf_Addr pc, std::vector<SizedSymbol>::const_iterator after) const {
    const GElf_Addr sized_end = after == symbols_.begin() ? 0 : std::prev(after)->max_end;
    if (sized_end > pc) return false;  // held by an earlier (nested or overlapping) symbol
    auto label = std::upper_bound(labels_.begin(), labels_.end(), pc);
    return label == labels_.begin() || *std::prev(label) < sized_end;
  }

  void BuildSymbolIndex() {
    symbols_indexed_ = true;
    const int count = dwfl_module_getsymtab(module_);
    for (int i = 1; i < count; ++i) {
      GElf_Sym sym;
      GElf_Addr address = 0;
      GElf_Word section = 0;
      Elf* elf = nullptr;
      Dwarf_Addr bias = 0;
      const char* name = dwfl_module_getsym_info(module_, i, &sym, &address, &section, &elf, &bias);
      if (name == nullptr || name[0] == '\0' || section == SHN_UNDEF) continue;
      const int type = GELF_ST_TYPE(sym.st_info);
      if (type == STT_SECTION || type == STT_FILE || type == STT_TLS) continue;
      if (sym.st_size == 0) {
        labels_.push_back(address);
        continue;
      }
      const int bind = GELF_ST_BIND(sym.st_info);
      const int binding = bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_LOCAL ? 1 : 0;
      symbols_.push_back({address, address + sym.st_size, 0, name, binding});
    }
    // Stable: among aliases of one binding, the first in table order wins, as in libdwfl.
    std::stable_sort(symbols_.begin(), symbols_.end(),
                     [](const SizedSymbol& a, const SizedSymbol& b) { return a.start < b.start; });
    std::sort(labels_.begin(), labels_.end());
    GElf_Addr max_end = 0;
    for (SizedSymbol& s : symbols_) {
      max_end = std::max(max_end, s.end);
      s.max_end = max_end;
    }
  }

  // The compile unit whose address ranges hold `pc` (a module address), in *storage,
  // with the module's DWARF bias in *bias; nullptr when no unit holds it.
  //
  // Why not libdwfl's own dwfl_module_addrdie/dwfl_module_getsrc: they find the unit
  // through .debug_aranges, which clang does not emit by default (no unit is found,
  // so no line), and they treat every gap between units as part of the unit before
  // it, so code without debug information (_start, a library built without -g) gets
  // a neighbour's line. The units' own DW_AT_low_pc/high_pc/ranges are exact and are
  // emitted by every compiler; they are read once per module into a sorted index.
  Dwarf_Die* FindUnit(Dwarf_Addr pc, Dwarf_Die* storage, Dwarf_Addr* bias) {
    if (!indexed_) BuildUnitIndex();
    if (dwarf_ == nullptr || ranges_.empty()) return nullptr;
    const Dwarf_Addr address = pc - bias_;
    // The last range starting at or before the address; earlier ones can still hold
    // it when ranges overlap, which max_high bounds.
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                               [](Dwarf_Addr a, const UnitRange& r) { return a < r.low; });
    while (it != ranges_.begin()) {
      --it;
      if (it->max_high <= address) break;
      if (address < it->high && dwarf_offdie(dwarf_, it->unit, storage) != nullptr) {
        *bias = bias_;
        return storage;
      }
    }
    return nullptr;
  }

  void BuildUnitIndex() {
    indexed_ = true;
    dwarf_ = dwfl_module_getdwarf(module_, &bias_);
    if (dwarf_ == nullptr) return;
    Dwarf_CU* cu = nullptr;
    Dwarf_Die unit;
    uint8_t unit_type = 0;
    while (dwarf_get_units(dwarf_, cu, &cu, nullptr, &unit_type, &unit, nullptr) == 0) {
      if (unit_type != DW_UT_compile && unit_type != DW_UT_skeleton) continue;
      Dwarf_Addr base = 0;
      Dwarf_Addr low = 0;
      Dwarf_Addr high = 0;
      ptrdiff_t at = 0;
      while ((at = dwarf_ranges(&unit, at, &base, &low, &high)) > 0) {
        // A function the linker discarded keeps its ranges, relocated to 0 (ld.bfd,
        // lld) or to a tombstone: they hold no code of the program.
        if (low == 0 || high <= low || low >= ~Dwarf_Addr{0} - 1) continue;
        ranges_.push_back({low, high, dwarf_dieoffset(&unit), 0});
      }
    }
    std::sort(ranges_.begin(), ranges_.end(),
              [](const UnitRange& a, const UnitRange& b) { return a.low < b.low; });
    Dwarf_Addr max_high = 0;
    for (UnitRange& r : ranges_) {
      max_high = std::max(max_high, r.high);
      r.max_high = max_high;
    }
  }

  Dwfl* dwfl_;
  Dwfl_Module* module_;
  bool indexed_ = false;
  Dwarf* dwarf_ = nullptr;  // owned by module_; null when the module has no DWARF
  Dwarf_Addr bias_ = 0;
  std::vector<UnitRange> ranges_;  // sorted by low
  bool symbols_indexed_ = false;
  std::vector<SizedSymbol> symbols_;  // sorted by start
  std::vector<GElf_Addr> labels_;     // the sizeless symbols' addresses, sorted
};

Symbolizer::Symbolizer(SymbolizerOptions options) : options_(options) {
  // libdwfl falls back to debuginfod when a debug file is not on disk; the client reads
  // DEBUGINFOD_URLS at each query, so removing it here keeps every lookup local.
  unsetenv("DEBUGINFOD_URLS");
}

Symbolizer::~Symbolizer() = default;

Symbolizer::ModuleDebugInfo* Symbolizer::FindModule(const std::string& path) {
  auto it = modules_.find(path);
  if (it == modules_.end()) it = modules_.emplace(path, ModuleDebugInfo::Open(path)).first;
  return it->second.get();
}

std::vector<SourceFrame> Symbolizer::SymbolizeAddress(const std::string& module, uint64_t address) {
  auto key = std::make_pair(module, address);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::vector<SourceFrame> frames;
  if (ModuleDebugInfo* info = FindModule(module)) {
    frames = info->Lookup(address, options_.expand_inlined);
  }
  if (frames.empty()) frames.emplace_back();
  cache_.emplace(std::move(key), frames);
  return frames;
}

std::vector<SourceFrame> Symbolizer::SymbolizeReturnAddress(const std::string& module,
                                                            uint64_t offset) {
  return SymbolizeAddress(module, offset == 0 ? 0 : offset - 1);
}

}  // namespace heapwarden::report
