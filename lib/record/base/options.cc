// options.cc: see options.h. Record side.
#include "record/base/options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "record/base/log.h"

namespace heapwarden::internal {
namespace {

constexpr OptionInfo kTable[] = {
#define HW_OPTION(key, kind, def, help) {#key, kind, def, help},
#include "record/base/options.inc"
#undef HW_OPTION
};

bool Equals(const char* s, size_t len, const char* literal) {
  return strlen(literal) == len && memcmp(s, literal, len) == 0;
}

// Index of `value` among the '|'-separated `choices`, or -1.
int EnumIndex(const char* choices, const char* value, size_t len) {
  int index = 0;
  for (const char* p = choices;; ++index) {
    const char* bar = strchr(p, '|');
    size_t n = bar ? static_cast<size_t>(bar - p) : strlen(p);
    if (n == len && memcmp(p, value, len) == 0) return index;
    if (bar == nullptr) return -1;
    p = bar + 1;
  }
}

bool ParseInt(const char* value, size_t len, int64_t* out) {
  if (len == 0 || len > 19) return false;
  // Accumulated unsigned: 19 digits reach 9999999999999999999, past INT64_MAX.
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    if (value[i] < '0' || value[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(value[i] - '0');
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool ParseDouble(const char* value, size_t len, double* out) {
  // Digits with at most one '.', no exponent: enough for seconds and no locale trap.
  if (len == 0 || len > 30) return false;
  double whole = 0, scale = 0;
  bool seen_digit = false;
  for (size_t i = 0; i < len; ++i) {
    char c = value[i];
    if (c == '.' && scale == 0) {
      scale = 1;
    } else if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (scale == 0) {
        whole = whole * 10 + (c - '0');
      } else {
        scale /= 10;
        whole += (c - '0') * scale;
      }
    } else {
      return false;
    }
  }
  if (!seen_digit) return false;
  *out = whole;
  return true;
}

bool ParseBool(const char* value, size_t len, bool* out) {
  for (const char* t : {"1", "true", "on", "yes"}) {
    if (Equals(value, len, t)) return *out = true, true;
  }
  for (const char* f : {"0", "false", "off", "no"}) {
    if (Equals(value, len, f)) return *out = false, true;
  }
  return false;
}

void Reason(char* error, size_t size, const char* what, const char* value, size_t len) {
  char shown[64];
  size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
  memcpy(shown, value, n);
  shown[n] = '\0';
  FormatTo(error, size, "expected %s, got '%s'", what, shown);
}

}  // namespace

const OptionInfo* OptionTable(size_t* count) {
  *count = sizeof(kTable) / sizeof(kTable[0]);
  return kTable;
}

void SetDefaultOptions(Options* out) {
  char error[128];
#define HW_OPTION(key, kind, def, help)                                           \
  {                                                                               \
    const char* d = def;                                                          \
    size_t n = kind == kEnum ? strcspn(d, "|") : strlen(d);                       \
    SetOption(out, #key, strlen(#key), d, n, error, sizeof(error));               \
  }
#include "record/base/options.inc"
#undef HW_OPTION
}

bool SetOption(Options* out, const char* key, size_t key_len, const char* value,
               size_t value_len, char* error, size_t error_size) {
  for (const OptionInfo& row : kTable) {
    if (!Equals(key, key_len, row.key)) continue;
    void* field = nullptr;
#define HW_OPTION(k, kind, def, help) \
  if (strcmp(row.key, #k) == 0) field = &out->k;
#include "record/base/options.inc"
#undef HW_OPTION
    switch (row.kind) {
      case kString:
        if (value_len >= kMaxOptionString) {
          FormatTo(error, error_size, "value longer than %zu bytes", kMaxOptionString - 1);
          return false;
        }
        memcpy(field, value, value_len);
        static_cast<char*>(field)[value_len] = '\0';
        return true;
      case kEnum: {
        int index = EnumIndex(row.default_value, value, value_len);
        if (index < 0) {
          char what[96];
          FormatTo(what, sizeof(what), "one of %s", row.default_value);
          Reason(error, error_size, what, value, value_len);
          return false;
        }
        *static_cast<int*>(field) = index;
        return true;
      }
      case kInt:
        if (!ParseInt(value, value_len, static_cast<int64_t*>(field))) {
          Reason(error, error_size, "a non-negative integer", value, value_len);
          return false;
        }
        return true;
      case kDouble:
        if (!ParseDouble(value, value_len, static_cast<double*>(field))) {
          Reason(error, error_size, "a non-negative number", value, value_len);
          return false;
        }
        return true;
      case kBool:
        if (!ParseBool(value, value_len, static_cast<bool*>(field))) {
          Reason(error, error_size, "0 or 1", value, value_len);
          return false;
        }
        return true;
    }
  }
  FormatTo(error, error_size, "unknown key");
  return false;
}

void ParseOptions(const char* text, Options* out) {
  if (text == nullptr) return;
  const char* p = text;
  while (*p) {
    const char* end = strchr(p, ':');
    if (end == nullptr) end = p + strlen(p);
    if (end > p) {
      const char* eq = static_cast<const char*>(memchr(p, '=', static_cast<size_t>(end - p)));
      char error[160];
      char key[64];
      size_t key_len = eq ? static_cast<size_t>(eq - p) : static_cast<size_t>(end - p);
      size_t shown = key_len < sizeof(key) - 1 ? key_len : sizeof(key) - 1;
      memcpy(key, p, shown);
      key[shown] = '\0';
      if (eq == nullptr) {
        Warn("HEAPWARDEN_OPTIONS: '%s' has no '=value'; ignored", key);
      } else if (!SetOption(out, p, key_len, eq + 1, static_cast<size_t>(end - eq - 1), error,
                            sizeof(error))) {
        Warn("HEAPWARDEN_OPTIONS: %s: %s; ignored", key, error);
      }
    }
    p = *end ? end + 1 : end;
  }
}

}  // namespace heapwarden::internal
