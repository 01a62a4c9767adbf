// leak_text.cc: see leak_text.h. Report side.
#include "report/leak_text.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/human_size.h"
#include "report/leak_summary.h"
#include "report/report_fields.h"
#include "report/report_text.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

std::string ErrorHeading(const json& error) {
  const std::string kind = StringField(error, "kind");
  const std::string address = StringField(error, "address", "0x0");
  if (kind == "double_free") {
    return absl::StrCat("ERROR: heapwarden: attempting double-free on ", address, ":");
  }
  if (kind == "mismatched_free") {
    return absl::StrFormat("ERROR: heapwarden: alloc-dealloc-mismatch (%s vs %s) on %s:",
                           StringField(error, "allocated_by", "?"),
                           StringField(error, "freed_by", "?"), address);
  }
  if (kind == "invalid_free") {
    return absl::StrCat("ERROR: heapwarden: attempting free on address which was not malloc()-ed: ",
                        address, ":");
  }
  return absl::StrCat("ERROR: heapwarden: ", kind, " on ", address, ":");
}

}  // namespace

void RenderStackFrames(const StackIndex& stacks, int64_t id, std::ostream& out) {
  if (stacks.Stack(id) == nullptr) {
    out << absl::StrFormat("    (stack %d is not in the report)\n", id);
    return;
  }
  std::vector<const json*> frames = stacks.StackFrames(id);
  if (frames.empty()) out << "    (no frames recorded)\n";
  int index = 0;
  for (const json* frame : frames) {
    out << FrameLine(index++, *frame, stacks.ModulePath(*frame)) << "\n";
  }
}

void RenderErrors(const json& report, const StackIndex& stacks, int max, std::ostream& out) {
  const json& errors = ArrayField(report, "errors");
  int shown = 0;
  for (const json& error : errors) {
    if (shown == max) break;
    ++shown;
    out << "\n" << ErrorHeading(error) << "\n";
    RenderStackFrames(stacks, IntField(error, "stack", -1), out);
    if (HasField(error, "first_free_stack")) {
      out << "  first freed at:\n";
      RenderStackFrames(stacks, IntField(error, "first_free_stack", -1), out);
    }
    if (HasField(error, "allocation_stack")) {
      out << absl::StrFormat("  allocated by %s at:\n", StringField(error, "allocated_by", "?"));
      RenderStackFrames(stacks, IntField(error, "allocation_stack", -1), out);
    }
    int64_t count = IntField(error, "count", 1);
    if (count > 1) out << absl::StrFormat("  (the same error %d times from this stack)\n", count);
  }
  if (errors.size() > static_cast<size_t>(shown)) {
    out << absl::StrFormat("\n... %d more memory error(s) not shown\n", errors.size() - shown);
  }
}

void RenderReachable(const json& report, std::ostream& out) {
  LeakSummary s = SummarizeLeaks(report);
  if (s.reachable_blocks == 0) return;
  out << absl::StrFormat(
      "\nStill reachable at exit (not leaks): %s in %d object(s) from %d site(s)\n",
      BytesWithExact(s.reachable_bytes), s.reachable_blocks, s.reachable_groups);
}

void RenderLongLived(const json& report, const StackIndex& stacks, int top, std::ostream& out) {
  std::vector<const json*> groups;
  for (const json& group : ArrayField(report, "long_lived")) groups.push_back(&group);
  if (groups.empty() || top <= 0) return;
  std::stable_sort(groups.begin(), groups.end(), [](const json* a, const json* b) {
    return IntField(*a, "bytes") > IntField(*b, "bytes");
  });
  int64_t total = 0;
  for (const json* g : groups) total += IntField(*g, "bytes");
  out << absl::StrFormat("\nLong-lived buffers: %s in %d group(s); the largest:\n",
                         BytesWithExact(total), groups.size());
  for (size_t i = 0; i < groups.size() && i < static_cast<size_t>(top); ++i) {
    const json& g = *groups[i];
    std::string tag = StringField(g, "tag");
    out << absl::StrFormat("\nLong-lived %d byte(s) in %d object(s), oldest %.1f s, allocated%s from:\n",
                           IntField(g, "bytes"), IntField(g, "blocks"), DoubleField(g, "oldest_age_s"),
                           tag.empty() ? "" : absl::StrCat(" under tag \"", tag, "\""));
    RenderStackFrames(stacks, IntField(g, "stack", -1), out);
  }
}

void RenderSuppressionsUsed(const json& report, std::ostream& out) {
  const json& used = ArrayField(ObjectField(report, "heapwarden"), "suppressions_used");
  if (used.empty()) return;
  out << "\n-----------------------------------------------------\n";
  out << "Suppressions used:\n";
  out << "  count      bytes template\n";
  for (const json& rule : used) {
    out << absl::StrFormat("%7d %10d %s\n", IntField(rule, "blocks"), IntField(rule, "bytes"),
                           StringField(rule, "pattern"));
  }
  out << "-----------------------------------------------------\n";
}

std::string LeakSummaryLine(const json& report) {
  if (StringField(ObjectField(report, "process"), "mode") == "sampled") {
    // "0 bytes leaked" would read as a verdict; sampled mode gives none.
    return "SUMMARY: heapwarden: leaks not checked (sampled mode; run with --mode exact).";
  }
  LeakSummary s = SummarizeLeaks(report);
  return absl::StrFormat("SUMMARY: heapwarden: %d byte(s) leaked in %d allocation(s).",
                         s.leaked_bytes(), s.leaked_blocks());
}

}  // namespace heapwarden::report
