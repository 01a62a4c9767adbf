// suppressions_fuzzer.cc: libFuzzer target for suppressions files
// (lib/report/suppressions.cc): the parser, then every rule matched against texts
// taken from the input itself, so the wildcard matcher sees patterns and texts that
// resemble each other.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "report/suppressions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  heapwarden::report::SuppressionList list;
  if (!list.AddText(text, "fuzz").ok()) return 0;
  // Bounded: a pattern of n stars against a text of m characters must stay cheap.
  size_t checked = 0;
  for (const heapwarden::report::Suppression& rule : list.rules()) {
    if (++checked > 16) break;
    heapwarden::report::TemplateMatch(rule.pattern, text);
    for (const heapwarden::report::Suppression& other : list.rules()) {
      heapwarden::report::TemplateMatch(rule.pattern, other.pattern);
    }
  }
  return 0;
}
