// memory_text.cc: see memory_text.h. Report side.
#include "report/memory_text.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "report/human_size.h"
#include "report/report_fields.h"
#include "report/site_rollup.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;

// "  %10s %6s %7s  NAME": the name gets what is left of the line.
constexpr size_t kNameWidth = kTextWidth - 2 - 10 - 1 - 6 - 1 - 7 - 2;

std::string Share(int64_t part, int64_t whole) {
  if (whole <= 0) return "";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string Fit(std::string text, size_t width) {
  if (text.size() > width && width > 3) text = absl::StrCat(text.substr(0, width - 3), "...");
  return text;
}

const char* ColumnName(RollUp by) {
  switch (by) {
    case RollUp::kSite: return "site";
    case RollUp::kFunction: return "function";
    case RollUp::kFile: return "file";
    case RollUp::kTag: return "tag";
  }
  return "";
}

const char* RollUpTitle(RollUp by) {
  switch (by) {
    case RollUp::kSite: return "by site";
    case RollUp::kFunction: return "by function (each counts every site it is on)";
    case RollUp::kFile: return "by file (each counts every site it is on)";
    case RollUp::kTag: return "by tag";
  }
  return "";
}

void RenderTable(const ReportIndex& index, const std::vector<SiteAmount>& amounts, RollUp by,
                 int64_t whole, int top, std::ostream& out) {
  int hidden = 0;
  int unnamed = 0;
  std::vector<RollUpRow> rows = RollUpAmounts(index, amounts, by, &hidden, &unnamed);
  out << absl::StrFormat("  %10s %6s %7s  %s\n", "bytes", "share", "blocks", ColumnName(by));
  size_t shown = std::min(rows.size(), static_cast<size_t>(std::max(top, 0)));
  for (size_t i = 0; i < shown; ++i) {
    const RollUpRow& row = rows[i];
    std::string name;
    if (by == RollUp::kSite) {
      std::string tag = row.tag.empty() ? "" : absl::StrCat(" [", row.tag, "]");
      size_t room = kNameWidth > tag.size() + 8 ? kNameWidth - tag.size() : 8;
      name = absl::StrCat(SiteName(index, row.stack, room), tag);
    } else {
      name = row.name;
    }
    out << absl::StrFormat("  %10s %6s %7d  %s\n", HumanBytes(row.bytes), Share(row.bytes, whole),
                           row.blocks, Fit(name, kNameWidth));
  }
  std::vector<std::string> notes;
  if (shown < rows.size()) {
    int64_t rest = 0;
    for (size_t i = shown; i < rows.size(); ++i) rest += rows[i].bytes;
    // Function and file rows overlap, so only site and tag rows add up.
    if (by == RollUp::kSite || by == RollUp::kTag) {
      notes.push_back(absl::StrFormat("%d more with %s", rows.size() - shown, HumanBytes(rest)));
    } else {
      notes.push_back(absl::StrFormat("%d more", rows.size() - shown));
    }
  }
  if (hidden > 0) {
    notes.push_back(absl::StrFormat("%d %s on every stack not shown", hidden,
                                    by == RollUp::kFile ? "file(s)" : "function(s)"));
  }
  if (unnamed > 0) notes.push_back("unnamed frames hidden");
  if (!notes.empty()) {
    out << "  ... " << Fit(absl::StrJoin(notes, "; "), kTextWidth - 6) << "\n";
  }
}

// The roll-ups a section shows: the one --by asked for, else sites and functions.
std::vector<RollUp> RollUps(const RenderOptions& options) {
  RollUp by;
  if (!options.by.empty() && ParseRollUp(options.by, &by)) return {by};
  return {RollUp::kSite, RollUp::kFunction};
}

// "NAME: SUMMARY", then "NAME by X:" and its table for each roll-up.
void RenderSection(const ReportIndex& index, const std::string& name, const std::string& summary,
                   const std::vector<SiteAmount>& amounts, int64_t whole,
                   const RenderOptions& options, std::ostream& out) {
  if (amounts.empty() || options.top <= 0) return;
  out << "\n" << name << ": " << summary << "\n";
  bool first = true;
  for (RollUp by : RollUps(options)) {
    if (!first) out << "\n";
    out << name << " " << RollUpTitle(by) << ":\n";
    RenderTable(index, amounts, by, whole, options.top, out);
    first = false;
  }
}

void RenderTags(const json& report, int top, std::ostream& out) {
  std::vector<const json*> tags;
  for (const json& tag : ArrayField(report, "tags")) {
    // A parent tag that never allocated itself ("phase" of "phase/load") has no row.
    if (!StringField(tag, "tag").empty() &&
        (IntField(tag, "peak_live_bytes") > 0 || IntField(tag, "bytes_allocated") > 0)) {
      tags.push_back(&tag);
    }
  }
  if (tags.empty() || top <= 0) return;
  std::stable_sort(tags.begin(), tags.end(), [](const json* a, const json* b) {
    return IntField(*a, "peak_live_bytes") > IntField(*b, "peak_live_bytes");
  });
  out << "\nTags, by their own peak:\n";
  out << absl::StrFormat("  %10s %10s %10s  %s\n", "peak", "live", "allocated", "tag");
  size_t shown = std::min(tags.size(), static_cast<size_t>(top));
  for (size_t i = 0; i < shown; ++i) {
    const json& t = *tags[i];
    out << absl::StrFormat("  %10s %10s %10s  %s\n", HumanBytes(IntField(t, "peak_live_bytes")),
                           HumanBytes(IntField(t, "live_bytes")),
                           HumanBytes(IntField(t, "bytes_allocated")),
                           Fit(StringField(t, "tag"), kTextWidth - 36));
  }
  if (shown < tags.size()) out << absl::StrFormat("  ... %d more tag(s)\n", tags.size() - shown);
}

}  // namespace

void RenderWhereMemoryWent(const ReportIndex& index, const RenderOptions& options,
                           std::ostream& out) {
  const json& report = index.report();
  const json& totals = ObjectField(report, "totals");
  const json& peak = ObjectField(report, "peak");
  int64_t peak_bytes = IntField(peak, "live_bytes", IntField(totals, "peak_live_bytes"));
  RenderSection(index, "Peak",
                absl::StrFormat("%s live at %.2f s", BytesWithExact(peak_bytes),
                                DoubleField(peak, "time", DoubleField(totals, "peak_time"))),
                PeakAmounts(report), peak_bytes, options, out);
  const bool complete = BoolField(ObjectField(report, "process"), "complete", true);
  int64_t live_bytes = IntField(totals, "live_bytes");
  RenderSection(index, complete ? "Live at exit" : "Live in the snapshot",
                absl::StrFormat("%s in %d block(s)", BytesWithExact(live_bytes),
                                IntField(totals, "live_blocks")),
                LiveAmounts(report), live_bytes, options, out);
  RenderTags(report, options.top, out);
}

}  // namespace heapwarden::report
