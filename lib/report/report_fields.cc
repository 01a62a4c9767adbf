// report_fields.cc: typed reads of report fields that never throw.
// Report side.
#include "report/report_fields.h"

#include <cmath>
#include <limits>

namespace heapwarden::report {
namespace {

// Returns the member or nullptr; never throws (find() on a non-object is not allowed).
const nlohmann::json* Member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

int64_t IntField(const nlohmann::json& object, const char* key, int64_t fallback) {
  const nlohmann::json* value = Member(object, key);
  if (value == nullptr) return fallback;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_unsigned()) {
    uint64_t u = value->get<uint64_t>();
    return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(u);
  }
  if (value->is_number_float()) {
    double d = value->get<double>();
    // Casting a NaN or out-of-range double is undefined behaviour; clamp instead.
    if (!std::isfinite(d)) return fallback;
    if (d >= 9.2e18) return std::numeric_limits<int64_t>::max();
    if (d <= -9.2e18) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }
  return fallback;
}

double DoubleField(const nlohmann::json& object, const char* key, double fallback) {
  const nlohmann::json* value = Member(object, key);
  if (value == nullptr || !value->is_number()) return fallback;
  return value->get<double>();
}

bool BoolField(const nlohmann::json& object, const char* key, bool fallback) {
  const nlohmann::json* value = Member(object, key);
  if (value == nullptr || !value->is_boolean()) return fallback;
  return value->get<bool>();
}

std::string StringField(const nlohmann::json& object, const char* key,
                        const std::string& fallback) {
  const nlohmann::json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) return fallback;
  return value->get<std::string>();
}

const nlohmann::json& ArrayField(const nlohmann::json& object, const char* key) {
  static const nlohmann::json* const kEmpty = new nlohmann::json(nlohmann::json::array());
  const nlohmann::json* value = Member(object, key);
  return value != nullptr && value->is_array() ? *value : *kEmpty;
}

const nlohmann::json& ObjectField(const nlohmann::json& object, const char* key) {
  static const nlohmann::json* const kEmpty = new nlohmann::json(nlohmann::json::object());
  const nlohmann::json* value = Member(object, key);
  return value != nullptr && value->is_object() ? *value : *kEmpty;
}

bool HasField(const nlohmann::json& object, const char* key) {
  return Member(object, key) != nullptr;
}

}  // namespace heapwarden::report
