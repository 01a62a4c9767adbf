// options.h: HEAPWARDEN_OPTIONS, parsed into a plain struct.
// Start-up, with the recursion guard held: parsing uses no heap and no stdio, so it can run before main and inside
// the first malloc. The table of keys is options.inc; this file only gives it a type.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_OPTIONS_H_
#define HEAPWARDEN_LIB_RECORD_BASE_OPTIONS_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

enum OptionKind { kString, kEnum, kInt, kDouble, kBool };

inline constexpr size_t kMaxOptionString = 4096;

struct Options {
#define HW_OPTION_FIELD_kString(key) char key[kMaxOptionString];
#define HW_OPTION_FIELD_kEnum(key) int key;
#define HW_OPTION_FIELD_kInt(key) int64_t key;
#define HW_OPTION_FIELD_kDouble(key) double key;
#define HW_OPTION_FIELD_kBool(key) bool key;
#define HW_OPTION(key, kind, def, help) HW_OPTION_FIELD_##kind(key)
#include "record/base/options.inc"
#undef HW_OPTION
};

// Values of the enum options, in the order options.inc lists them.
enum Mode { kModeExact = 0, kModeSampled = 1 };
enum Backend { kBackendSystem = 0, kBackendMimalloc = 1 };
enum Trim { kTrimOff = 0, kTrimAuto = 1 };
enum Control { kControlOn = 0, kControlOff = 1 };
enum PythonFrames { kPythonFramesOn = 0, kPythonFramesOff = 1 };

// Describes one row of options.inc, for the command line and help text.
struct OptionInfo {
  const char* key;
  OptionKind kind;
  const char* default_value;  // for kEnum: "a|b|c", the first being the default
  const char* help;
};
const OptionInfo* OptionTable(size_t* count);

// Fills `out` with every default.
void SetDefaultOptions(Options* out);

// Parses one value for `key` into `out`. On failure returns false and writes a short
// reason ("unknown key", "expected an integer, got 'x'") to `error`.
bool SetOption(Options* out, const char* key, size_t key_len, const char* value,
               size_t value_len, char* error, size_t error_size);

// Parses "key=value:key=value". Each bad pair produces one warning line on stderr
// and is skipped; the rest still apply.
void ParseOptions(const char* text, Options* out);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_OPTIONS_H_
