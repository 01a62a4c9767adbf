// report_text.cc: the short human summary of a report, LeakSanitizer-style stacks.
// Report side.
#include "report/report_text.h"
#include "report/report_index.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report/human_size.h"
#include "report/leak_text.h"
#include "report/memory_text.h"
#include "report/report_fields.h"
#include "report/retained_text.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// One block of the listing: a stack with the bytes and blocks attributed to it.
struct Group {
  int rank = 0;  // kind order: direct first, reachable last
  std::string heading;
  std::string tag;
  int64_t stack = 0;
  int64_t bytes = 0;
  int64_t blocks = 0;
};

// LeakSanitizer prints direct leaks before indirect ones: fixing a direct leak often
// frees its indirect ones too. Reachable blocks are the least interesting.
int KindRank(const std::string& kind) {
  if (kind == "direct") return 0;
  if (kind == "indirect") return 1;
  if (kind == "reachable") return 3;
  return 2;  // "unclassified", or a kind this version does not know
}

std::string KindHeading(const std::string& kind) {
  if (kind == "direct") return "Direct leak of";
  if (kind == "indirect") return "Indirect leak of";
  if (kind == "reachable") return "Still reachable:";
  return "Live at exit:";
}

std::string ProcessLine(const json& report) {
  const json& process = ObjectField(report, "process");
  std::vector<std::string> argv;
  for (const json& arg : ArrayField(process, "argv")) {
    if (arg.is_string()) argv.push_back(arg.get<std::string>());
  }
  std::string command = absl::StrJoin(argv, " ");
  if (command.empty()) command = StringField(process, "exe", "?");
  // The summary is a few lines; a 10 KB command line would bury it.
  if (command.size() > 120) command = absl::StrCat(command.substr(0, 117), "...");
  std::string status;
  if (HasField(process, "signal")) {
    std::string name = StringField(process, "signal_name");
    status = name.empty() ? absl::StrCat("killed by signal ", IntField(process, "signal"))
                          : absl::StrCat("killed by ", name);
  } else if (HasField(process, "exit_status")) {
    status = absl::StrCat("exited with status ", IntField(process, "exit_status"));
  } else if (!BoolField(process, "complete", true)) {
    status = "snapshot taken while it ran";
  } else {
    status = "exited";
  }
  return absl::StrFormat("heapwarden: pid %d %s: %s", IntField(process, "pid"), command, status);
}

void RenderTotals(const json& report, bool complete, std::ostream& out) {
  const json& totals = ObjectField(report, "totals");
  out << absl::StrFormat("  allocations  %d, frees %d; %s allocated\n",
                         IntField(totals, "allocations"), IntField(totals, "frees"),
                         BytesWithExact(IntField(totals, "bytes_allocated")));
  out << absl::StrFormat("  %-12s %s in %d block(s)\n", complete ? "live at exit" : "live",
                         BytesWithExact(IntField(totals, "live_bytes")),
                         IntField(totals, "live_blocks"));
  out << absl::StrFormat("  peak live    %s at %.2f s\n",
                         BytesWithExact(IntField(totals, "peak_live_bytes")),
                         DoubleField(totals, "peak_time"));
  out << absl::StrFormat("  RSS          %s %s, peak %s; allocator retains %s\n",
                         HumanBytes(IntField(totals, "rss_bytes")), complete ? "at exit" : "now",
                         HumanBytes(IntField(totals, "peak_rss_bytes")),
                         HumanBytes(IntField(totals, "retained_bytes")));
}

// Warnings that change how far the numbers can be trusted, one line each.
void RenderCaveats(const json& report, std::ostream& out) {
  if (StringField(ObjectField(report, "process"), "mode") == "sampled") {
    out << "  (sampled mode: counts and sizes are estimates)\n";
  }
  int64_t dropped = IntField(ObjectField(report, "heapwarden"), "dropped_events");
  if (dropped > 0) {
    out << absl::StrFormat("  warning: %d event(s) dropped; counts are lower bounds\n", dropped);
  }
  std::string allocator = StringField(ObjectField(report, "heapwarden"), "program_allocator");
  if (!allocator.empty()) {
    out << absl::StrFormat(
        "  note: the program's malloc is %s's; what its own API allocates or frees is not seen\n",
        allocator);
  }
  int64_t deepbind = IntField(ObjectField(report, "heapwarden"), "deepbind_loads");
  if (deepbind > 0) {
    out << absl::StrFormat(
        "  note: %d RTLD_DEEPBIND load(s); their malloc/free were pointed at heapwarden after "
        "loading (%d slot(s)), so what their constructors allocated is not seen\n",
        deepbind, IntField(ObjectField(report, "heapwarden"), "deepbind_rebound_slots"));
  }
  absl::flat_hash_map<std::string, int64_t> errors;
  std::vector<std::string> order;
  for (const json& error : ArrayField(report, "errors")) {
    std::string kind = StringField(error, "kind", "error");
    if (errors[kind]++ == 0) order.push_back(kind);
  }
  if (!order.empty()) {
    std::vector<std::string> parts;
    for (const std::string& kind : order) parts.push_back(absl::StrCat(errors[kind], " ", kind));
    out << "  memory errors: " << absl::StrJoin(parts, ", ") << "\n";
  }
}

// Groups to list, best first; `suppressed_*` count leaks a suppression file accepted.
std::vector<Group> CollectGroups(const json& report, int64_t* suppressed_bytes,
                                 int64_t* suppressed_groups) {
  std::vector<Group> groups;
  for (const json& leak : ArrayField(report, "leaks")) {
    if (BoolField(leak, "suppressed")) {
      *suppressed_bytes += IntField(leak, "bytes");
      ++*suppressed_groups;
      continue;
    }
    std::string kind = StringField(leak, "kind", "unclassified");
    // Reachable blocks are not leaks: RenderReachable() sums them in one line.
    if (kind == "reachable") continue;
    groups.push_back({KindRank(kind), KindHeading(kind), StringField(leak, "tag"),
                      IntField(leak, "stack"), IntField(leak, "bytes"), IntField(leak, "blocks")});
  }
  // A snapshot of a running process has no leaks yet; show what is live where.
  if (groups.empty() && *suppressed_groups == 0 &&
      !BoolField(ObjectField(report, "process"), "complete", true)) {
    for (const json& site : ArrayField(report, "sites")) {
      int64_t bytes = IntField(site, "live_bytes");
      if (bytes <= 0) continue;
      groups.push_back({2, "Live:", StringField(site, "tag"), IntField(site, "stack"), bytes,
                        IntField(site, "live_blocks")});
    }
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.stack < b.stack;
  });
  return groups;
}

}  // namespace

std::string FrameLine(int index, const json& frame, const std::string& module) {
  std::string address = StringField(frame, "address", "0x0");
  std::string function = StringField(frame, "function", "??");
  if (IsPythonFrame(frame)) {
    std::string where = FrameSourceLine(frame);
    // As the reader expects it: "#4 load_table /home/me/job.py:10".
    return absl::StrFormat("    #%d %s%s%s", index, function, where.empty() ? "" : " ", where);
  }
  std::string location =
      module.empty()
          ? std::string("(<unknown module>)")
          : absl::StrFormat("(%s+0x%x)", module, static_cast<uint64_t>(IntField(frame, "offset")));
  int64_t line = IntField(frame, "line");
  std::string file = StringField(frame, "file");
  if (function == "??" || function.empty()) {
    // LeakSanitizer's form for a frame it could not name.
    return absl::StrFormat("    #%d %s %s", index, address, location);
  }
  if (!file.empty() && line > 0) {
    return absl::StrFormat("    #%d %s in %s %s:%d", index, address, function, file, line);
  }
  return absl::StrFormat("    #%d %s in %s %s", index, address, function, location);
}

namespace {

void RenderGroup(const Group& group, const StackIndex& stacks, std::ostream& out) {
  out << absl::StrFormat("%s %d byte(s) in %d object(s) allocated%s from:\n", group.heading,
                         group.bytes, group.blocks,
                         group.tag.empty() ? "" : absl::StrCat(" under tag \"", group.tag, "\""));
  RenderStackFrames(stacks, group.stack, out);
}

}  // namespace

void RenderText(const json& report, const TextOptions& options, std::ostream& out) {
  const json& process = ObjectField(report, "process");
  const json& totals = ObjectField(report, "totals");
  bool complete = BoolField(process, "complete", true);

  out << ProcessLine(report) << "\n";
  RenderTotals(report, complete, out);
  RenderRetained(report, out);  // retained_text.h: what the allocator holds, pymalloc, trims
  RenderCaveats(report, out);

  const StackIndex stacks(report);
  RenderErrors(report, stacks, options.top, out);
  int64_t suppressed_bytes = 0;
  int64_t suppressed_groups = 0;
  std::vector<Group> groups = CollectGroups(report, &suppressed_bytes, &suppressed_groups);
  if (complete && !groups.empty()) out << "\nERROR: heapwarden: detected memory leaks\n";
  size_t shown = std::min(groups.size(), static_cast<size_t>(std::max(options.top, 0)));
  for (size_t i = 0; i < shown; ++i) {
    out << "\n";
    RenderGroup(groups[i], stacks, out);
  }
  if (shown < groups.size()) {
    int64_t rest_bytes = 0;
    for (size_t i = shown; i < groups.size(); ++i) rest_bytes += groups[i].bytes;
    out << absl::StrFormat(
        "\n... %d more group(s) with %d byte(s) not shown (--top N shows more)\n",
        groups.size() - shown, rest_bytes);
  }
  RenderReachable(report, out);
  RenderWhereMemoryWent(stacks, options, out);
  RenderLongLived(report, stacks, std::min(options.top, 3), out);
  if (!ArrayField(ObjectField(report, "heapwarden"), "suppressions_used").empty()) {
    RenderSuppressionsUsed(report, out);
  } else if (suppressed_groups > 0) {
    out << absl::StrFormat("\nSuppressed: %d byte(s) in %d leak group(s)\n", suppressed_bytes,
                           suppressed_groups);
  }
  if (complete) {
    out << "\n" << LeakSummaryLine(report) << "\n";
  } else {
    out << absl::StrFormat("\nSUMMARY: heapwarden: %d byte(s) live at the snapshot in %d allocation(s).\n",
                           IntField(totals, "live_bytes"), IntField(totals, "live_blocks"));
  }
}

}  // namespace heapwarden::report
