// report_sax.cc: see report_sax.h. Report side.
#include "report/report_sax.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "report/report_schema.h"
#include "report/report_upgrade.h"

namespace heapwarden::report {
namespace {

using nlohmann::json;
using DomBuilder = nlohmann::detail::json_sax_dom_parser<json>;

// Forwards every event to nlohmann's own DOM builder, except the members of a frame
// object inside stacks[i].frames, which it gathers into a RawFrame and replaces by the
// frame's id.
class UpgradingHandler {
 public:
  explicit UpgradingHandler(json& out) : dom_(out, /*allow_exceptions=*/true) {}

  bool null() { return InFrame() ? WrongType() : dom_.null(); }
  bool boolean(bool value) {
    if (!InFrame()) return dom_.boolean(value);
    if (key_ == "inlined") {
      frame_.inlined = value;
      return true;
    }
    return WrongType();
  }
  bool number_integer(int64_t value) {
    if (!InFrame()) return dom_.number_integer(value);
    if (value >= 0) return Count(static_cast<uint64_t>(value));
    return WrongType();
  }
  bool number_unsigned(uint64_t value) {
    return InFrame() ? Count(value) : dom_.number_unsigned(value);
  }
  bool number_float(double value, const std::string& text) {
    if (!InFrame()) return dom_.number_float(value, text);
    return WrongType();
  }
  bool string(std::string& value) {
    if (!InFrame()) return dom_.string(value);
    std::string* field = TextField();
    if (field != nullptr) {
      *field = std::move(value);
      return true;
    }
    return WrongType();
  }
  bool binary(json::binary_t& value) { return InFrame() ? WrongType() : dom_.binary(value); }

  bool start_object(std::size_t size) {
    if (InFrame()) return Fail(absl::StrCat(Where(), " holds a nested object"));
    ++depth_;
    if (depth_ == 3 && in_stacks_) {
      ++stack_index_;
      frame_index_ = -1;
    }
    if (depth_ == 5 && in_frames_) {
      ++frame_index_;
      frame_.Clear();
      key_.clear();
      return true;  // the frame itself never reaches the DOM
    }
    return dom_.start_object(size);
  }
  bool key(std::string& name) {
    if (InFrame()) {
      key_ = name;
      return true;
    }
    if (depth_ == 1) root_key_ = name;
    if (depth_ == 3) stack_key_ = name;
    return dom_.key(name);
  }
  bool end_object() {
    if (InFrame()) {
      --depth_;
      const std::string where = absl::StrCat("stacks[", stack_index_, "].frames[", frame_index_, "]");
      uint64_t id = 0;
      absl::Status status = interner_.Intern(frame_, where, &id);
      if (!status.ok()) return Fail(std::string(status.message()), /*already_wrapped=*/true);
      if (first_frame_.empty()) first_frame_ = where;
      return dom_.number_unsigned(id);
    }
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t size) {
    if (InFrame()) return Fail(absl::StrCat(Where(), " holds an array"));
    if (depth_ == 1 && root_key_ == "stacks") in_stacks_ = true;
    if (depth_ == 3 && in_stacks_ && stack_key_ == "frames") in_frames_ = true;
    ++depth_;
    return dom_.start_array(size);
  }
  bool end_array() {
    --depth_;
    if (depth_ == 1) in_stacks_ = false;
    if (depth_ == 3) in_frames_ = false;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    return dom_.parse_error(position, token, e);
  }

  const absl::Status& error() const { return error_; }
  FrameInterner& interner() { return interner_; }
  // The first inline frame read, "" when there was none.
  const std::string& first_frame() const { return first_frame_; }

 private:
  bool InFrame() const { return in_frames_ && depth_ == 5; }

  std::string Where() const {
    return absl::StrCat("stacks[", stack_index_, "].frames[", frame_index_, "]",
                        key_.empty() ? "" : ".", key_);
  }
  bool Fail(const std::string& message, bool already_wrapped = false) {
    error_ = already_wrapped ? absl::InvalidArgumentError(message) : NotAReport(message);
    return false;  // stops the parser
  }
  // A member of the wrong type: an error for the members a frame has, ignored for others
  // (a later version may add some).
  bool WrongType() {
    if (IsFrameCount()) return Fail(absl::StrCat(Where(), " is not a non-negative integer"));
    if (IsFrameText()) return Fail(absl::StrCat(Where(), " is not a string"));
    if (key_ == "inlined") return Fail(absl::StrCat(Where(), " is not true or false"));
    return true;
  }

  bool IsFrameCount() const { return key_ == "line" || key_ == "offset"; }
  bool IsFrameText() const { return TextFieldName(); }
  bool TextFieldName() const {
    return key_ == "kind" || key_ == "function" || key_ == "file" || key_ == "module" ||
           key_ == "address";
  }
  std::string* TextField() {
    if (key_ == "kind") return frame_.has_kind = true, &frame_.kind;
    if (key_ == "function") return frame_.has_function = true, &frame_.function;
    if (key_ == "file") return frame_.has_file = true, &frame_.file;
    if (key_ == "module") return frame_.has_module = true, &frame_.module;
    if (key_ == "address") return frame_.has_address = true, &frame_.address;
    return nullptr;
  }
  bool Count(uint64_t value) {
    if (key_ == "line") {
      frame_.line = value;
      frame_.has_line = true;
    } else if (key_ == "offset") {
      frame_.offset = value;
      frame_.has_offset = true;
    } else {
      return WrongType();
    }
    return true;
  }

  DomBuilder dom_;
  FrameInterner interner_;
  RawFrame frame_;
  absl::Status error_;
  int depth_ = 0;
  bool in_stacks_ = false;
  bool in_frames_ = false;
  int64_t stack_index_ = -1;
  int64_t frame_index_ = -1;
  std::string root_key_, stack_key_, key_, first_frame_;
};

}  // namespace

absl::Status ParseAndUpgrade(absl::string_view text, json* out, int* file_version) {
  UpgradingHandler handler(*out);
  const bool ok = json::sax_parse(text.begin(), text.end(), &handler);
  if (!handler.error().ok()) return handler.error();
  if (!ok) return NotAReport("the parser stopped early");
  auto version = out->is_object() ? out->find("version") : out->end();
  const bool version_1 = out->is_object() && version != out->end() && version->is_number_integer() &&
                         *version == 1;
  if (file_version != nullptr && version != out->end() && version->is_number_integer()) {
    *file_version = version->get<int>();
  }
  if (version_1) {
    handler.interner().Finish(*out);
  } else if (!handler.first_frame().empty() && version != out->end() && *version == 2) {
    return NotAReport(absl::StrCat(handler.first_frame(),
                                   " is an object: inline frames belong to version 1"));
  }
  return absl::OkStatus();
}

}  // namespace heapwarden::report
