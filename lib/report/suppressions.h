// suppressions.h: LeakSanitizer-compatible leak suppressions, and the built-in list for
// what the C and C++ run-time libraries keep on purpose.
// Report side: applied to a symbolized report after the process has ended.
//
// A suppressions file holds one rule per line:
//
//   # comments and blank lines are ignored
//   leak:leak_parser            a function name (demangled, as the report shows it)
//   leak:libpython3.11.so       a module path
//   leak:src/legacy/*.c         a source file
//
// A pattern matches a frame when it matches the frame's function, module path or
// source file, with LeakSanitizer's rules: `*` matches any run of characters, `^`
// anchors at the start and `$` at the end, and without anchors the pattern may match
// anywhere in the text ("leak:parser" matches "leak_parser" and "src/parser.c"). A leak
// group is suppressed when any frame of its stack matches; the first rule that matches
// is credited with it. Only direct and indirect (and unclassified) groups are
// suppressed: reachable blocks are not leaks.
#ifndef HEAPWARDEN_LIB_REPORT_SUPPRESSIONS_H_
#define HEAPWARDEN_LIB_REPORT_SUPPRESSIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "report/report_index.h"

namespace heapwarden::report {

struct Suppression {
  std::string pattern;  // without the "leak:" prefix
  std::string origin;   // "built-in", or "FILE:LINE"
  // Set by ApplySuppressions: what this rule accepted.
  int64_t hit_blocks = 0;
  int64_t hit_bytes = 0;
};

class SuppressionList {
 public:
  // AddBuiltIn()
  //
  // Adds heapwarden's default rules (suppressions.cc lists them with the reason for
  // each). `heapwarden run` and `check` always apply them.
  void AddBuiltIn();

  // AddText()
  //
  // Adds the rules of a suppressions file's text. `origin` names the file in messages
  // and in each rule's origin. Lines of another sanitizer's kind ("race:", "called_from_lib:")
  // are an error, as in LeakSanitizer: a typo must not silently suppress nothing.
  absl::Status AddText(absl::string_view text, absl::string_view origin);

  // AddFile()
  //
  // Reads `path` and adds its rules. The message of an error starts with the path.
  absl::Status AddFile(const std::string& path);

  // Match()
  //
  // The index of the first rule matching any frame of stack `stack` (its function,
  // module path or file), or -1.
  int Match(const ReportIndex& index, int64_t stack) const;

  std::vector<Suppression>& rules() { return rules_; }
  const std::vector<Suppression>& rules() const { return rules_; }

 private:
  std::vector<Suppression> rules_;
};

// TemplateMatch()
//
// LeakSanitizer's pattern rule: `*` wildcards, optional `^` and `$` anchors, otherwise
// a match anywhere in `text`. An empty pattern matches nothing.
bool TemplateMatch(absl::string_view pattern, absl::string_view text);

// ApplySuppressions()
//
// Marks every direct, indirect or unclassified group of the report's "leaks" whose
// stack a rule matches with "suppressed": true and "suppression": PATTERN, and every
// other group with "suppressed": false (without "suppression"), so applying twice or
// with another list gives the same result as applying once. Counts each rule's hits in
// `list`, and records the rules used in heapwarden.suppressions_used:
// [{"pattern", "origin", "blocks", "bytes"}].
void ApplySuppressions(nlohmann::json& report, SuppressionList& list);

// ApplyRunSuppressions()
//
// What `heapwarden run`, `check` and `symbolize` do: the built-in rules, then those of
// `file` (none when empty), applied to `report`. The rules are in *used (may be null)
// afterwards. Fails, leaving the report untouched, when `file` cannot be read or parsed.
absl::Status ApplyRunSuppressions(nlohmann::json& report, const std::string& file,
                                  SuppressionList* used = nullptr);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_SUPPRESSIONS_H_
