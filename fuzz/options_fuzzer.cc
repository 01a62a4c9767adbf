// options_fuzzer.cc: libFuzzer target for HEAPWARDEN_OPTIONS, as both sides read it:
// the record side's parser (lib/record/base/options.cc), which runs inside the
// tracked process before main and must never overrun a field, and the report side's
// reading of the leak gate's keys (lib/report/leak_summary.cc).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "record/base/options.h"
#include "report/leak_summary.h"

using heapwarden::internal::Options;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The environment holds a C string: what follows a NUL never reaches the parser.
  std::string text(reinterpret_cast<const char*>(data), size);
  text.resize(strlen(text.c_str()));
  static Options options;  // ~70 KB of string fields: not on the stack
  heapwarden::internal::SetDefaultOptions(&options);
  heapwarden::internal::ParseOptions(text.c_str(), &options);
  // Every string option must still be NUL-terminated within its field.
#define HW_OPTION(key, kind, def, help)                                             \
  if (heapwarden::internal::kind == heapwarden::internal::kString &&                  \
      memchr(&options.key, '\0', sizeof(options.key)) == nullptr) {                   \
    abort();                                                                          \
  }
#include "record/base/options.inc"
#undef HW_OPTION
  heapwarden::report::LeakGateOptions gate;
  heapwarden::report::ParseLeakGateOptions(std::string_view(text), &gate);
  if (gate.max_leak_bytes < 0) abort();
  return 0;
}
