// retained_text.cc: see retained_text.h. Report side.
#include "report/retained_text.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "report/human_size.h"
#include "report/report_fields.h"
#include "report/report_index.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// Below this, retained memory is the process's ordinary baggage (code, stacks) and
// the summary says nothing about it.
constexpr int64_t kWorthMentioning = 8 << 20;

bool IsPymallocFunction(const std::string& function) {
  for (const char* name : {"_PyObject_ArenaMmap", "new_arena", "_PyObject_Malloc",
                           "_PyObject_Calloc", "_PyObject_Realloc", "pymalloc_alloc",
                           "allocate_from_new_pool"}) {
    if (absl::StartsWith(function, name)) return true;
  }
  return false;
}

bool IsPythonModule(const std::string& module) {
  size_t slash = module.rfind('/');
  std::string base = slash == std::string::npos ? module : module.substr(slash + 1);
  return absl::StartsWith(base, "python3") || absl::StartsWith(base, "libpython3");
}

// A frame's function name, "" when the symbolizer found none ("??" or absent).
std::string KnownFunction(const json& frame) {
  std::string function = StringField(frame, "function");
  return function == "??" ? "" : function;
}

bool IsPymallocStack(const ReportIndex& index, int64_t stack) {
  std::vector<const json*> frames = index.StackFrames(stack);
  for (size_t i = 0; i < frames.size() && i < 8; ++i) {
    if (IsPymallocFunction(KnownFunction(*frames[i]))) return true;
  }
  // Debian's python3 is stripped: obmalloc's static functions have no names. The
  // interpreter itself mapping anonymous memory, from a frame without a name, is its
  // object allocator.
  if (frames.empty() || !KnownFunction(*frames[0]).empty()) return false;
  return IsPythonModule(index.ModulePath(*frames[0]));
}

}  // namespace

PymallocArenas FindPymallocArenas(const json& report) {
  const ReportIndex index(report);
  PymallocArenas arenas;
  for (const json& site : ArrayField(report, "sites")) {
    if (StringField(site, "source") != "mapped") continue;
    if (!IsPymallocStack(index, IntField(site, "stack", -1))) continue;
    arenas.live_bytes += IntField(site, "live_bytes");
    arenas.peak_bytes += IntField(site, "peak_live_bytes");
  }
  const int64_t mapped_peak = IntField(ObjectField(report, "totals"), "peak_mapped_bytes", -1);
  if (mapped_peak >= 0 && arenas.peak_bytes > mapped_peak) arenas.peak_bytes = mapped_peak;
  if (arenas.peak_bytes < arenas.live_bytes) arenas.peak_bytes = arenas.live_bytes;
  return arenas;
}

void RenderRetained(const json& report, std::ostream& out) {
  const json& totals = ObjectField(report, "totals");
  const int64_t retained = IntField(totals, "retained_bytes");
  const int64_t mapped = IntField(totals, "mapped_resident_bytes", IntField(totals, "mapped_bytes"));
  const bool allocator_view = HasField(totals, "allocator_free_bytes");
  const int64_t trimmable = IntField(totals, "trimmable_bytes");
  if (retained + mapped >= kWorthMentioning) {
    std::string line = absl::StrFormat("  retained     %s not in live blocks", HumanBytes(retained));
    if (allocator_view) {
      line += absl::StrFormat(": up to %s free in the allocator (what a trim can return)",
                              HumanBytes(trimmable));
      line += absl::StrFormat(", other %s", HumanBytes(retained - trimmable));
    }
    if (mapped > 0) line += absl::StrFormat("; program's own mappings %s more", HumanBytes(mapped));
    out << line << "\n";
  }
  const PymallocArenas pymalloc = FindPymallocArenas(report);
  if (pymalloc.peak_bytes >= kWorthMentioning) {
    out << absl::StrFormat(
        "  pymalloc     %s in CPython's pymalloc arenas (at most %s): no trim returns an\n"
        "               arena that still holds a live object. Run with --python-malloc\n"
        "               (PYTHONMALLOC=malloc) to make every Python object visible and trimmable.\n",
        HumanBytes(pymalloc.live_bytes), HumanBytes(pymalloc.peak_bytes));
  }
  const json& trims = ArrayField(report, "trims");
  if (!trims.empty()) {
    int64_t released = 0;
    std::map<std::string, int> by_trigger;
    for (const json& trim : trims) {
      released += IntField(trim, "released_bytes");
      ++by_trigger[StringField(trim, "trigger", "?")];
    }
    std::string triggers;
    for (const auto& [trigger, count] : by_trigger) {
      triggers += absl::StrFormat("%s%s %d", triggers.empty() ? "" : ", ", trigger, count);
    }
    out << absl::StrFormat("  trims        %d, released %s (%s)\n", trims.size(),
                           HumanBytes(released), triggers);
  }
}

}  // namespace heapwarden::report
