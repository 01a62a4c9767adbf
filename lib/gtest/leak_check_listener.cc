// leak_check_listener.cc: see leak_check_listener.h.
#include "leak_check_listener.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "heapwarden/leak_check.h"
#include "report/symbolizer.h"

namespace heapwarden {
namespace {

bool g_allow_leaks = false;

std::string ExePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// One symbolizer for the whole run: built at the first leak, kept (reachable) after.
report::Symbolizer& TheSymbolizer() {
  static auto* symbolizer = new report::Symbolizer;
  return *symbolizer;
}

// "#N 0xADDR in function file:line" lines for one return address (several when inlined).
void AppendFrame(uintptr_t pc, int* index, std::string* out, std::string* file, int* line) {
  Dl_info info;
  link_map* map = nullptr;
  std::string module;
  uint64_t offset = pc;
  if (dladdr1(reinterpret_cast<void*>(pc), &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) != 0 &&
      map != nullptr) {
    module = map->l_name != nullptr && map->l_name[0] != '\0' ? map->l_name : ExePath();
    offset = pc - map->l_addr;
  }
  std::vector<report::SourceFrame> frames;
  if (!module.empty()) frames = TheSymbolizer().SymbolizeReturnAddress(module, offset);
  if (frames.empty()) frames.push_back(report::SourceFrame{});
  for (const report::SourceFrame& f : frames) {
    if (f.function == "??") {
      absl::StrAppendFormat(out, "    #%d 0x%x (%s+0x%x)\n", (*index)++, pc,
                            module.empty() ? "<unknown module>" : module, offset);
      continue;
    }
    if (f.line > 0) {
      absl::StrAppendFormat(out, "    #%d 0x%x in %s %s:%d\n", (*index)++, pc, f.function, f.file, f.line);
      if (file->empty()) {
        *file = f.file;
        *line = f.line;
      }
    } else {
      absl::StrAppendFormat(out, "    #%d 0x%x in %s (%s+0x%x)\n", (*index)++, pc, f.function, module,
                            offset);
    }
  }
}

}  // namespace

std::string DescribeLeaks(const heapwarden_leak_check_result& result, std::string* file, int* line) {
  file->clear();
  *line = 0;
  std::string text = absl::StrFormat("heapwarden: this test leaked %d byte(s) in %d object(s)\n",
                                     result.leaked_bytes, result.leaked_blocks);
  for (uint32_t s = 0; s < result.site_count; ++s) {
    const heapwarden_leak_site& site = result.sites[s];
    absl::StrAppendFormat(&text, "%s leak of %d byte(s) in %d object(s) allocated from:\n",
                          site.indirect ? "Indirect" : "Direct", site.bytes, site.blocks);
    int index = 0;
    std::string ignored_file;
    int ignored_line = 0;
    // The failure points at the first direct leak's allocating line.
    bool locate = !site.indirect && file->empty();
    for (uint32_t f = 0; f < site.depth; ++f) {
      AppendFrame(site.frames[f], &index, &text, locate ? file : &ignored_file,
                  locate ? line : &ignored_line);
    }
  }
  if (result.site_count == HEAPWARDEN_LEAK_CHECK_SITES) {
    absl::StrAppend(&text, "(the largest ", HEAPWARDEN_LEAK_CHECK_SITES, " groups are shown)\n");
  }
  return text;
}

void LeakCheckListener::OnTestStart(const ::testing::TestInfo&) {
  g_allow_leaks = false;
  window_ = heapwarden_leak_check_available() ? heapwarden_leak_check_begin() : 0;
}

void LeakCheckListener::OnTestEnd(const ::testing::TestInfo&) {
  if (window_ == 0) return;
  heapwarden_leak_check_result result;
  const uint64_t window = window_;
  window_ = 0;
  if (heapwarden_leak_check_end(window, &result) != 0 || result.leaked_bytes == 0) return;
  if (g_allow_leaks) return;
  std::string file;
  int line = 0;
  std::string message = DescribeLeaks(result, &file, &line);
  // The test is still the current one: the failure is recorded against it.
  if (!file.empty()) {
    ADD_FAILURE_AT(file.c_str(), line) << message;
  } else {
    ADD_FAILURE() << message;
  }
}

bool InstallLeakCheckListener() {
  if (!heapwarden_leak_check_available()) return false;
  // Loaded but not tracking (a fork child, a failed start): begin says so. The window
  // it opens is replaced by the first test's.
  if (heapwarden_leak_check_begin() == 0) return false;
  // Appended last: GoogleTest delivers end events in reverse order, so this
  // listener's OnTestEnd runs before the printer's, which then reports the failure.
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheckListener);
  return true;
}

void AllowLeaksInCurrentTest() { g_allow_leaks = true; }

}  // namespace heapwarden
