// run_options.cc: `heapwarden run`'s flags, parser and help, generated from
// lib/record/base/options.inc so that a key is added in one place only.
// Report side (tool).
#include "run_options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace heapwarden::tools {
namespace {

// Keys the tool handles itself instead of passing them to the preload: the preload
// always writes into the tool's private directory, unsymbolized, and the tool then puts
// the symbolized report where --output says.
constexpr const char* kToolKeys[] = {"output", "symbolize", "summary"};

// Where a key means more under `heapwarden run` than the table's help (written for the
// bare preload) says: {key, text, replaces the table's help (else appended)}.
struct RunHelpNote {
  const char* key;
  const char* text;
  bool replaces;
};
constexpr RunHelpNote kRunHelpNotes[] = {
    {"symbolize", "0: write the report without symbols (heapwarden run symbolizes it itself)",
     true},
    {"summary", "0: print no summary to stderr when CMD ends (the report is still written)", true},
    {"follow_fork", "heapwarden run keeps the children's reports only when this flag is given",
     false},
};

// Integer options with a narrower range than the kind's (lib/record/recorder.cc).
struct IntRange {
  const char* key;
  unsigned long long min;
  unsigned long long max;
};
constexpr IntRange kIntRanges[] = {
    {"depth", 1, 128},  // kMaxFrames
    {"sample_bytes", 1, static_cast<unsigned long long>(INT64_MAX)},
};

bool IsToolKey(const std::string& key) {
  for (const char* tool_key : kToolKeys) {
    if (key == tool_key) return true;
  }
  return false;
}

std::string FlagName(const char* key) {
  return absl::StrCat("--", absl::StrReplaceAll(key, {{"_", "-"}}));
}

const OptionSpec* FindOption(const std::string& key) {
  for (const OptionSpec& spec : AllOptions()) {
    if (key == spec.key) return &spec;
  }
  return nullptr;
}

// The bool words the preload's parser accepts; -1 when `value` is not one.
int ParseBool(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "1" || v == "true" || v == "on" || v == "yes") return 1;
  if (v == "0" || v == "false" || v == "off" || v == "no") return 0;
  return -1;
}

std::string Metavar(const OptionSpec& spec) {
  switch (spec.kind) {
    case OptionKind::kEnum:
      return spec.default_value;
    case OptionKind::kInt:
      return "N";
    case OptionKind::kDouble:
      return "SECONDS";
    case OptionKind::kBool:
      return "[0|1]";
    case OptionKind::kString:
      break;
  }
  return "VALUE";
}

std::string DefaultOf(const OptionSpec& spec) {
  absl::string_view value = spec.default_value;
  if (spec.kind == OptionKind::kEnum) value = value.substr(0, value.find('|'));
  return std::string(value);
}

}  // namespace

const std::vector<OptionSpec>& AllOptions() {
  static const std::vector<OptionSpec>* const kOptions = new std::vector<OptionSpec>{
#define HW_OPTION(key, kind, default_value, help) {#key, OptionKind::kind, default_value, help},
#include "record/base/options.inc"
#undef HW_OPTION
  };
  return *kOptions;
}

absl::StatusOr<std::string> ValidateOptionValue(const OptionSpec& spec, const std::string& value) {
  std::string flag = FlagName(spec.key);
  auto bad = [&](absl::string_view expected) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: expected %s, got '%s'", flag, expected, value));
  };
  switch (spec.kind) {
    case OptionKind::kInt: {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return bad(value.starts_with("-") ? "a non-negative integer" : "an integer");
      }
      errno = 0;
      unsigned long long parsed = std::strtoull(value.c_str(), nullptr, 10);
      if (errno == ERANGE || parsed > static_cast<unsigned long long>(INT64_MAX)) {
        return bad("an integer below 2^63");
      }
      // The ranges the preload enforces (it warns and goes on): on the command line a
      // value it would ignore is an error before the program starts.
      for (const IntRange& range : kIntRanges) {
        if (spec.key == std::string(range.key) &&
            (parsed < range.min || parsed > range.max)) {
          return bad(absl::StrFormat("%d..%d", range.min, range.max));
        }
      }
      return absl::StrCat(parsed);  // drops leading zeros
    }
    case OptionKind::kDouble: {
      char* end = nullptr;
      errno = 0;
      double parsed = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(parsed)) {
        return bad("a number");
      }
      if (parsed < 0) return bad("a number >= 0");
      return value;
    }
    case OptionKind::kBool: {
      int parsed = ParseBool(value);
      if (parsed < 0) return bad("0|1|true|false|on|off|yes|no");
      return std::string(parsed ? "1" : "0");
    }
    case OptionKind::kEnum: {
      for (absl::string_view choice : absl::StrSplit(spec.default_value, '|')) {
        if (choice == value) return value;
      }
      return bad(absl::StrCat("one of ", spec.default_value));
    }
    case OptionKind::kString:
      break;
  }
  // HEAPWARDEN_OPTIONS separates pairs with ':', so a value holding one would be split.
  // The tool's own --output is exempt: it never goes into HEAPWARDEN_OPTIONS.
  if (!IsToolKey(spec.key) && value.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: '%s' contains ':', which HEAPWARDEN_OPTIONS uses to separate options", flag, value));
  }
  return value;
}

absl::StatusOr<RunArgs> ParseRunArgs(const std::vector<std::string>& args) {
  RunArgs result;
  size_t i = 0;
  auto set = [&](const OptionSpec& spec, const std::string& value) -> absl::Status {
    absl::StatusOr<std::string> canonical = ValidateOptionValue(spec, value);
    if (!canonical.ok()) return canonical.status();
    std::string key = spec.key;
    result.given[key] = *canonical;
    if (key == "output") {
      result.output = *canonical;
    } else if (key == "symbolize") {
      result.symbolize = *canonical == "1";
    } else if (key == "summary") {
      result.summary = *canonical == "1";
    } else {
      result.preload_options.emplace_back(key, *canonical);
    }
    return absl::OkStatus();
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      result.help = true;
      continue;
    }
    if (arg == "-o" || (arg.starts_with("-o") && !arg.starts_with("--"))) {
      std::string value = arg.size() > 2 ? arg.substr(2) : "";
      if (arg.size() == 2) {
        if (i + 1 >= args.size() || args[i + 1] == "--") {
          return absl::InvalidArgumentError("-o: missing file name");
        }
        value = args[++i];
      }
      absl::Status status = set(*FindOption("output"), value);
      if (!status.ok()) return status;
      continue;
    }
    if (!arg.starts_with("-") || arg == "-") break;  // the command starts here
    if (!arg.starts_with("--")) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown option '%s' (heapwarden run --help lists them)", arg));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = FindOption(absl::StrReplaceAll(name, {{"-", "_"}}));
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown option '--%s' (heapwarden run --help lists them)", name));
    }
    if (!value.has_value()) {
      if (spec->kind == OptionKind::kBool) {
        // "--fail-on-leak" alone means on; "--follow-fork 0" sets it. Only a bool word
        // is taken, so "--fail-on-leak ./tests" still runs ./tests.
        value = (i + 1 < args.size() && ParseBool(args[i + 1]) >= 0) ? args[++i] : "1";
      } else if (i + 1 < args.size() && args[i + 1] != "--") {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: missing value", FlagName(spec->key)));
      }
    }
    absl::Status status = set(*spec, *value);
    if (!status.ok()) return status;
  }
  if (auto mode = result.given.find("mode"), fail = result.given.find("fail_on_leak");
      mode != result.given.end() && mode->second == "sampled" && fail != result.given.end() &&
      fail->second == "1") {
    // Sampled mode sees a sample of the blocks: a leak gate on it would pass leaks.
    return absl::InvalidArgumentError("--fail-on-leak needs --mode exact (sampled mode does not check leaks)");
  }
  result.command.assign(args.begin() + static_cast<ptrdiff_t>(std::min(i, args.size())),
                        args.end());
  return result;
}

std::string RunHelp() {
  std::string text =
      "usage: heapwarden run [OPTIONS] -- CMD [ARGS...]\n"
      "\n"
      "Runs CMD with heap tracking (the heapwarden preload), writes its symbolized report\n"
      "and prints a summary to stderr. Exits with CMD's exit status, or 128+N when signal N\n"
      "killed it. Each option is also a HEAPWARDEN_OPTIONS key ('-' becomes '_'); flags\n"
      "override keys already set in the environment.\n"
      "\n"
      "options:\n";
  for (const OptionSpec& spec : AllOptions()) {
    std::string key = spec.key;
    std::string flag = key == "output" ? "-o, --output PATH"
                                       : absl::StrCat(FlagName(spec.key), " ", Metavar(spec));
    std::string help = spec.help;
    if (key == "output") help = absl::StrCat(help, " (default: heapwarden.%p.json)");
    for (const RunHelpNote& note : kRunHelpNotes) {
      if (key != note.key) continue;
      help = note.replaces ? std::string(note.text) : absl::StrCat(help, "; ", note.text);
    }
    std::string default_value = DefaultOf(spec);
    if (key != "output" && !default_value.empty()) {
      help = absl::StrCat(help, " (default: ", default_value, ")");
    }
    if (flag.size() <= 28) {
      absl::StrAppendFormat(&text, "  %-28s %s\n", flag, help);
    } else {
      absl::StrAppendFormat(&text, "  %s\n  %-28s %s\n", flag, "", help);
    }
  }
  absl::StrAppendFormat(&text, "  %-28s %s\n", "-h, --help", "show this help");
  return text;
}

}  // namespace heapwarden::tools
