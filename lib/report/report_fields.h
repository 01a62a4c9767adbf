// report_fields.h: typed reads of report fields that never throw.
// Report side. nlohmann::json's value() and get() throw on a type mismatch, and reports
// come from files a user may have edited or truncated, so renderers read through these
// and get the fallback instead of an exception.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_FIELDS_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_FIELDS_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// Each returns `object[key]` when `object` is an object holding `key` with a value of
// the right type, else `fallback`. Integers accept any JSON number (truncated); doubles
// accept integers too.
int64_t IntField(const nlohmann::json& object, const char* key, int64_t fallback = 0);
double DoubleField(const nlohmann::json& object, const char* key, double fallback = 0);
bool BoolField(const nlohmann::json& object, const char* key, bool fallback = false);
std::string StringField(const nlohmann::json& object, const char* key,
                        const std::string& fallback = "");

// Returns `object[key]` when it is an array, else a shared empty array, so callers can
// iterate without checking.
const nlohmann::json& ArrayField(const nlohmann::json& object, const char* key);

// Returns `object[key]` when it is an object, else a shared empty object.
const nlohmann::json& ObjectField(const nlohmann::json& object, const char* key);

// HasField()
//
// True when `object` is an object and holds `key` (of any type).
bool HasField(const nlohmann::json& object, const char* key);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_FIELDS_H_
