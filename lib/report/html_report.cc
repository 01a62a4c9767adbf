// html_report.cc: fills the page template with the style, the script and the data.
// Report side.
#include "report/html_report.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "report/html_assets.h"
#include "report/html_page_data.h"
#include "report/report_fields.h"

namespace heapwarden::report {
namespace {

std::string EscapeHtml(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// The generated header holds std::string_view; Abseil here has its own string_view.
absl::string_view Asset(std::string_view text) { return {text.data(), text.size()}; }

}  // namespace

std::string RenderHtml(const nlohmann::json& v2) {
  std::string data = HtmlPageData(v2).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // '<' only occurs inside JSON strings, where \u003c means the same; escaping it keeps
  // a function name like "operator</script>" from closing the data's script element.
  data = absl::StrReplaceAll(data, {{"<", "\\u003c"}});

  std::vector<std::string> argv;
  for (const nlohmann::json& arg : ArrayField(ObjectField(v2, "process"), "argv")) {
    if (arg.is_string()) argv.push_back(arg.get<std::string>());
  }
  std::string title = "heapwarden: " + (argv.empty() ? std::string("report") : absl::StrJoin(argv, " "));

  // One pass over the template: text put in (a title or a function name holding
  // "{{DATA}}") is never scanned for markers again.
  std::string escaped_title = EscapeHtml(title);
  const std::vector<std::pair<absl::string_view, absl::string_view>> fills = {
      {"{{TITLE}}", escaped_title},
      {"/*{{CSS}}*/", Asset(embedded::kReportCss)},
      {"/*{{JS}}*/", Asset(embedded::kReportJs)},
      {"{{DATA}}", data}};
  std::string page = absl::StrReplaceAll(Asset(embedded::kPageHtml), fills);
  return page;
}

}  // namespace heapwarden::report
