// report_diff.cc: see report_diff.h. Report side.
#include "report/report_diff.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "report/human_size.h"
#include "report/report_fields.h"
#include "report/report_index.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

std::string FrameText(const ReportIndex& index, const json& frame) {
  std::string label = FrameLabel(index, frame);
  if (IsPythonFrame(frame)) return label;
  std::string where = FrameSourceLine(frame);
  return where.empty() ? label : absl::StrCat(label, " ", where);
}

SiteFigures Figures(const json& object) {
  return {IntField(object, "live_bytes"), IntField(object, "live_blocks"),
          IntField(object, "allocations"), IntField(object, "bytes_allocated")};
}

void Add(SiteFigures& to, const SiteFigures& from) {
  to.live_bytes += from.live_bytes;
  to.live_blocks += from.live_blocks;
  to.allocations += from.allocations;
  to.bytes_allocated += from.bytes_allocated;
}

// Sites of one report by match key.
void Collect(const json& report, bool after, std::map<std::string, SiteDiff>& sites,
             absl::flat_hash_map<std::string, int>& present) {
  const ReportIndex index(report);
  for (const json& site : ArrayField(report, "sites")) {
    int64_t stack = IntField(site, "stack", -1);
    std::string tag = StringField(site, "tag");
    std::string source = StringField(site, "source", "heap");
    std::vector<const json*> frames = index.StackFrames(stack);
    std::string key = absl::StrCat(tag, "\x1e", source);
    for (const json* frame : frames) absl::StrAppend(&key, "\x1e", FrameKey(index, *frame));
    SiteDiff& d = sites[key];
    // The newer report's lines describe the code as it is now.
    if (d.frames.empty() || after) {
      d.frames.clear();
      for (const json* frame : frames) d.frames.push_back(FrameText(index, *frame));
    }
    d.tag = tag;
    d.source = source;
    Add(after ? d.after : d.before, Figures(site));
    present[key] |= after ? 2 : 1;
  }
}

std::string Signed(int64_t bytes) {
  return bytes >= 0 ? absl::StrCat("+", HumanBytes(bytes)) : HumanBytes(bytes);
}

std::string SignedCount(int64_t n) { return n >= 0 ? absl::StrCat("+", n) : absl::StrCat(n); }

void RenderSite(const SiteDiff& d, bool by_live, std::ostream& out) {
  std::string tag = d.tag.empty() ? "" : absl::StrCat(" under tag \"", d.tag, "\"");
  std::string mapped = d.source == "mapped" ? " (mapped)" : "";
  if (by_live) {
    out << absl::StrFormat("\n%s live (%s -> %s), blocks %d -> %d, allocations %d -> %d%s%s:\n",
                           Signed(d.live_delta()), HumanBytes(d.before.live_bytes),
                           HumanBytes(d.after.live_bytes), d.before.live_blocks,
                           d.after.live_blocks, d.before.allocations, d.after.allocations, mapped,
                           tag);
  } else {
    out << absl::StrFormat("\n%s allocations (%d -> %d, %s -> %s allocated)%s%s:\n",
                           SignedCount(d.allocations_delta()), d.before.allocations,
                           d.after.allocations, HumanBytes(d.before.bytes_allocated),
                           HumanBytes(d.after.bytes_allocated), mapped, tag);
  }
  if (d.frames.empty()) out << "    (no frames recorded)\n";
  for (size_t i = 0; i < d.frames.size(); ++i) {
    out << absl::StrFormat("    #%d %s\n", i, d.frames[i]);
  }
}

void RenderList(const ReportDiff& diff, const char* heading, bool by_live, bool grew, int top,
                std::ostream& out) {
  std::vector<const SiteDiff*> list;
  for (const SiteDiff& d : diff.sites) {
    int64_t delta = by_live ? d.live_delta() : d.allocations_delta();
    if (grew ? delta > 0 : delta < 0) list.push_back(&d);
  }
  if (list.empty()) return;
  std::stable_sort(list.begin(), list.end(), [&](const SiteDiff* a, const SiteDiff* b) {
    int64_t x = by_live ? a->live_delta() : a->allocations_delta();
    int64_t y = by_live ? b->live_delta() : b->allocations_delta();
    return grew ? x > y : x < y;
  });
  out << absl::StrFormat("\n%s at %d site(s), largest first:\n", heading, list.size());
  size_t shown = std::min(list.size(), static_cast<size_t>(std::max(top, 0)));
  for (size_t i = 0; i < shown; ++i) RenderSite(*list[i], by_live, out);
  if (shown < list.size()) {
    out << absl::StrFormat("\n... %d more site(s) not shown (--top N shows more)\n",
                           list.size() - shown);
  }
}

json FiguresJson(const SiteFigures& f) {
  return {{"live_bytes", f.live_bytes},
          {"live_blocks", f.live_blocks},
          {"allocations", f.allocations},
          {"bytes_allocated", f.bytes_allocated}};
}

}  // namespace

ReportDiff DiffReports(const json& before, const json& after) {
  ReportDiff diff;
  diff.before = Figures(ObjectField(before, "totals"));
  diff.after = Figures(ObjectField(after, "totals"));
  diff.peak_before = IntField(ObjectField(before, "totals"), "peak_live_bytes");
  diff.peak_after = IntField(ObjectField(after, "totals"), "peak_live_bytes");
  std::map<std::string, SiteDiff> sites;
  absl::flat_hash_map<std::string, int> present;
  Collect(before, false, sites, present);
  Collect(after, true, sites, present);
  for (auto& [key, d] : sites) {
    int where = present[key];
    if (where == 1) ++diff.only_before;
    else if (where == 2) ++diff.only_after;
    else ++diff.matched;
    if (d.live_delta() != 0 || d.allocations_delta() != 0 || d.before.live_blocks != d.after.live_blocks ||
        d.before.bytes_allocated != d.after.bytes_allocated) {
      diff.sites.push_back(std::move(d));
    }
  }
  std::stable_sort(diff.sites.begin(), diff.sites.end(), [](const SiteDiff& a, const SiteDiff& b) {
    if (a.live_delta() != b.live_delta()) return a.live_delta() > b.live_delta();
    return a.allocations_delta() > b.allocations_delta();
  });
  return diff;
}

void RenderDiffText(const ReportDiff& diff, const std::string& before_name,
                    const std::string& after_name, int top, std::ostream& out) {
  out << absl::StrFormat("heapwarden diff: %s -> %s\n", before_name, after_name);
  out << absl::StrFormat("  live         %s -> %s (%s, %d bytes)\n", HumanBytes(diff.before.live_bytes),
                         HumanBytes(diff.after.live_bytes), Signed(diff.live_growth()),
                         diff.live_growth());
  out << absl::StrFormat("  peak live    %s -> %s (%s)\n", HumanBytes(diff.peak_before),
                         HumanBytes(diff.peak_after), Signed(diff.peak_after - diff.peak_before));
  out << absl::StrFormat("  allocations  %d -> %d (%s), %s -> %s allocated\n",
                         diff.before.allocations, diff.after.allocations,
                         SignedCount(diff.after.allocations - diff.before.allocations),
                         HumanBytes(diff.before.bytes_allocated),
                         HumanBytes(diff.after.bytes_allocated));
  out << absl::StrFormat("  sites        %d in both, %d only in the old, %d only in the new\n",
                         diff.matched, diff.only_before, diff.only_after);
  RenderList(diff, "Live bytes grew", true, true, top, out);
  RenderList(diff, "Live bytes shrank", true, false, top, out);
  RenderList(diff, "Allocations rose", false, true, top, out);
  RenderList(diff, "Allocations fell", false, false, top, out);
  if (diff.sites.empty()) out << "\nNo site changed.\n";
}

json DiffJson(const ReportDiff& diff, const std::string& before_name, const std::string& after_name) {
  json sites = json::array();
  for (const SiteDiff& d : diff.sites) {
    sites.push_back({{"tag", d.tag},
                     {"source", d.source},
                     {"frames", d.frames},
                     {"old", FiguresJson(d.before)},
                     {"new", FiguresJson(d.after)},
                     {"live_bytes_delta", d.live_delta()},
                     {"allocations_delta", d.allocations_delta()}});
  }
  return {{"format", "heapwarden-diff"},
          {"version", 1},
          {"old", before_name},
          {"new", after_name},
          {"totals", {{"old", FiguresJson(diff.before)}, {"new", FiguresJson(diff.after)}}},
          {"peak_live_bytes", {{"old", diff.peak_before}, {"new", diff.peak_after}}},
          {"live_bytes_delta", diff.live_growth()},
          {"sites", std::move(sites)}};
}

}  // namespace heapwarden::report
