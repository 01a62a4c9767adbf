// leak_summary.cc: see leak_summary.h. Report side.
#include "report/leak_summary.h"

#include <string>

#include "report/report_fields.h"

namespace heapwarden::report {

void ParseLeakGateOptions(std::string_view text, LeakGateOptions* out) {
  while (!text.empty()) {
    size_t colon = text.find(':');
    std::string_view pair = text.substr(0, colon);
    text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = pair.substr(0, eq);
    std::string value(pair.substr(eq + 1));
    int64_t number = 0;
    bool is_number = !value.empty() && value.size() < 19 &&
                     value.find_first_not_of("0123456789") == std::string::npos;
    if (is_number) number = std::stoll(value);
    if (key == "fail_on_leak") {
      if (value == "1" || value == "true" || value == "on" || value == "yes") out->fail_on_leak = true;
      if (value == "0" || value == "false" || value == "off" || value == "no") out->fail_on_leak = false;
    } else if (key == "max_leak_bytes" && is_number) {
      out->max_leak_bytes = number;
    } else if (key == "leak_exitcode" && is_number && number <= 255) {
      out->exit_code = static_cast<int>(number);
    } else if (key == "suppressions") {
      out->suppressions = value;
    }
  }
}

LeakSummary SummarizeLeaks(const nlohmann::json& report) {
  LeakSummary s;
  for (const nlohmann::json& leak : ArrayField(report, "leaks")) {
    const int64_t bytes = IntField(leak, "bytes");
    const int64_t blocks = IntField(leak, "blocks");
    const std::string kind = StringField(leak, "kind", "unclassified");
    if (kind == "reachable") {
      s.reachable_bytes += bytes;
      s.reachable_blocks += blocks;
      ++s.reachable_groups;
    } else if (BoolField(leak, "suppressed")) {
      s.suppressed_bytes += bytes;
      s.suppressed_blocks += blocks;
      ++s.suppressed_groups;
    } else if (kind == "direct") {
      s.direct_bytes += bytes;
      s.direct_blocks += blocks;
    } else if (kind == "indirect") {
      s.indirect_bytes += bytes;
      s.indirect_blocks += blocks;
    } else {
      s.unclassified_bytes += bytes;
      s.unclassified_blocks += blocks;
    }
  }
  return s;
}

}  // namespace heapwarden::report
