// json_depth.cc: see json_depth.h. Report side.
#include "report/json_depth.h"

#include "absl/strings/str_format.h"

namespace heapwarden::report {

absl::Status CheckJsonDepth(absl::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "JSON nested more than %d levels deep (at byte %d)", max_depth, i + 1));
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to report; never go below zero here.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace heapwarden::report
