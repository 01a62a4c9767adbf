// options_test.cc: HEAPWARDEN_OPTIONS parsing: every key kind reads what options.inc
// promises, a bad pair warns once and leaves the default, and the separators hold.
#include "record/base/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>

namespace heapwarden::internal {
namespace {

std::unique_ptr<Options> Defaults() {
  auto o = std::make_unique<Options>();
  memset(o.get(), 0x5a, sizeof(Options));  // every field must be set, not left as found
  SetDefaultOptions(o.get());
  return o;
}

std::unique_ptr<Options> Parsed(const char* text) {
  auto o = Defaults();
  ParseOptions(text, o.get());
  return o;
}

// SetOption on a fresh default set; returns the error ("" on success).
std::string SetError(Options* o, const std::string& key, const std::string& value) {
  char error[160] = "unchanged";
  if (SetOption(o, key.data(), key.size(), value.data(), value.size(), error, sizeof(error))) return "";
  return error;
}

TEST(OptionsTest, DefaultsAreTheTablesFirstValues) {
  auto o = Defaults();
  EXPECT_STREQ(o->output, "heapwarden.%p.json");
  EXPECT_EQ(o->mode, kModeExact);
  EXPECT_EQ(o->sample_bytes, 524288);
  EXPECT_EQ(o->sample_seed, 0);
  EXPECT_FALSE(o->caller_totals);
  EXPECT_EQ(o->depth, 32);
  EXPECT_EQ(o->backend, kBackendSystem);
  EXPECT_EQ(o->long_lived_s, 60.0);
  EXPECT_EQ(o->timeline_ms, 100);
  EXPECT_EQ(o->snapshot_s, 5.0);
  EXPECT_EQ(o->high_water_pct, 90);
  EXPECT_EQ(o->trim, kTrimOff);
  EXPECT_EQ(o->trim_retained_mb, 256);
  EXPECT_EQ(o->trim_interval_s, 10.0);
  EXPECT_FALSE(o->fail_on_leak);
  EXPECT_EQ(o->leak_exitcode, 23);
  EXPECT_EQ(o->max_leak_bytes, 0);
  EXPECT_STREQ(o->suppressions, "");
  EXPECT_TRUE(o->check_frees);
  EXPECT_FALSE(o->halt_on_error);
  EXPECT_TRUE(o->follow_fork);
  EXPECT_FALSE(o->python_malloc);
  EXPECT_EQ(o->control, kControlOn);
  EXPECT_TRUE(o->symbolize);
  EXPECT_EQ(o->python_frames, kPythonFramesOn);
  EXPECT_TRUE(o->summary);
}

TEST(OptionsTest, TheTableListsEveryKeyOnceWithHelp) {
  size_t count = 0;
  const OptionInfo* table = OptionTable(&count);
  EXPECT_EQ(count, 26u) << "a key was added or removed: update DefaultsAreTheTablesFirstValues";
  std::set<std::string> keys;
  for (size_t i = 0; i < count; ++i) {
    EXPECT_TRUE(keys.insert(table[i].key).second) << table[i].key;
    EXPECT_GT(strlen(table[i].help), 0u) << table[i].key;
    // Every default reads back through the parser it documents.
    auto o = Defaults();
    std::string def = table[i].default_value;
    if (table[i].kind == kEnum) def = def.substr(0, def.find('|'));
    EXPECT_EQ(SetError(o.get(), table[i].key, def), "") << table[i].key;
  }
  EXPECT_EQ(table[0].kind, kString);
  EXPECT_STREQ(table[1].key, "mode");
  EXPECT_EQ(table[1].kind, kEnum);
}

TEST(OptionsTest, EveryKindParses) {
  auto o = Parsed(
      "output=/tmp/r.%e.json:mode=sampled:sample_bytes=4096:depth=8:backend=mimalloc:"
      "long_lived_s=2.5:snapshot_s=.25:trim=auto:fail_on_leak=yes:check_frees=off:control=off:"
      "suppressions=/etc/supp.txt:sample_seed=9223372036854775807:trim_interval_s=7.");
  EXPECT_STREQ(o->output, "/tmp/r.%e.json");
  EXPECT_EQ(o->mode, kModeSampled);
  EXPECT_EQ(o->sample_bytes, 4096);
  EXPECT_EQ(o->depth, 8);
  EXPECT_EQ(o->backend, kBackendMimalloc);
  EXPECT_DOUBLE_EQ(o->long_lived_s, 2.5);
  EXPECT_DOUBLE_EQ(o->snapshot_s, 0.25);
  EXPECT_EQ(o->trim, kTrimAuto);
  EXPECT_TRUE(o->fail_on_leak);
  EXPECT_FALSE(o->check_frees);
  EXPECT_EQ(o->control, kControlOff);
  EXPECT_STREQ(o->suppressions, "/etc/supp.txt");
  EXPECT_EQ(o->sample_seed, INT64_MAX);
  EXPECT_DOUBLE_EQ(o->trim_interval_s, 7.0);
  // Untouched keys keep their defaults.
  EXPECT_EQ(o->timeline_ms, 100);
  EXPECT_TRUE(o->symbolize);
}

TEST(OptionsTest, BoolSpellings) {
  auto o = Defaults();
  for (const char* t : {"1", "true", "on", "yes"}) {
    o->halt_on_error = false;
    EXPECT_EQ(SetError(o.get(), "halt_on_error", t), "") << t;
    EXPECT_TRUE(o->halt_on_error) << t;
  }
  for (const char* f : {"0", "false", "off", "no"}) {
    o->halt_on_error = true;
    EXPECT_EQ(SetError(o.get(), "halt_on_error", f), "") << f;
    EXPECT_FALSE(o->halt_on_error) << f;
  }
  for (const char* bad : {"2", "TRUE", "y", "", "1 "}) {
    EXPECT_EQ(SetError(o.get(), "halt_on_error", bad), std::string("expected 0 or 1, got '") + bad + "'");
    EXPECT_FALSE(o->halt_on_error) << "a bad value leaves the field as it was";
  }
}

TEST(OptionsTest, BadValuesAreRefusedWithAReasonAndKeepTheDefault) {
  struct Case {
    const char* key;
    const char* value;
    const char* error;
  } cases[] = {
      {"depth", "abc", "expected a non-negative integer, got 'abc'"},
      {"depth", "-1", "expected a non-negative integer, got '-1'"},
      {"depth", "", "expected a non-negative integer, got ''"},
      {"depth", "8k", "expected a non-negative integer, got '8k'"},
      {"depth", "+8", "expected a non-negative integer, got '+8'"},
      // Past INT64_MAX: 19 digits that overflowed into a negative value before.
      {"depth", "9223372036854775808", "expected a non-negative integer, got '9223372036854775808'"},
      {"depth", "9999999999999999999", "expected a non-negative integer, got '9999999999999999999'"},
      {"depth", "10000000000000000000", "expected a non-negative integer, got '10000000000000000000'"},
      {"long_lived_s", "1e3", "expected a non-negative number, got '1e3'"},
      {"long_lived_s", ".", "expected a non-negative number, got '.'"},
      {"long_lived_s", "1.2.3", "expected a non-negative number, got '1.2.3'"},
      {"long_lived_s", "-2", "expected a non-negative number, got '-2'"},
      {"long_lived_s", "", "expected a non-negative number, got ''"},
      {"long_lived_s", "1,5", "expected a non-negative number, got '1,5'"},
      {"mode", "fast", "expected one of exact|sampled, got 'fast'"},
      {"mode", "", "expected one of exact|sampled, got ''"},
      {"mode", "exac", "expected one of exact|sampled, got 'exac'"},
      {"mode", "exact|sampled", "expected one of exact|sampled, got 'exact|sampled'"},
      {"backend", "System", "expected one of system|mimalloc, got 'System'"},
  };
  for (const Case& c : cases) {
    auto o = Defaults();
    EXPECT_EQ(SetError(o.get(), c.key, c.value), c.error) << c.key << "=" << c.value;
    EXPECT_EQ(o->depth, 32);
    EXPECT_EQ(o->long_lived_s, 60.0);
    EXPECT_EQ(o->mode, kModeExact);
    EXPECT_EQ(o->backend, kBackendSystem);
  }
}

TEST(OptionsTest, ALongBadValueIsShownCut) {
  auto o = Defaults();
  const std::string value(200, '7');
  EXPECT_EQ(SetError(o.get(), "mode", value),
            "expected one of exact|sampled, got '" + std::string(63, '7') + "'");
}

TEST(OptionsTest, UnknownKeysAndNearMisses) {
  auto o = Defaults();
  EXPECT_EQ(SetError(o.get(), "nosuchkey", "1"), "unknown key");
  EXPECT_EQ(SetError(o.get(), "Depth", "8"), "unknown key") << "keys are case-sensitive";
  EXPECT_EQ(SetError(o.get(), "dept", "8"), "unknown key") << "a prefix is not the key";
  EXPECT_EQ(SetError(o.get(), "depthx", "8"), "unknown key");
  EXPECT_EQ(SetError(o.get(), "sample-bytes", "8"), "unknown key") << "'-' is the flags' spelling";
  EXPECT_EQ(SetError(o.get(), "", "8"), "unknown key");
  EXPECT_EQ(o->depth, 32);
  EXPECT_EQ(o->sample_bytes, 524288);
}

TEST(OptionsTest, StringValuesMayBeEmptyButNotLongerThanTheField) {
  auto o = Defaults();
  EXPECT_EQ(SetError(o.get(), "output", ""), "");
  EXPECT_STREQ(o->output, "");
  const std::string longest(kMaxOptionString - 1, 'p');
  EXPECT_EQ(SetError(o.get(), "suppressions", longest), "");
  EXPECT_EQ(std::string(o->suppressions), longest);
  EXPECT_EQ(SetError(o.get(), "suppressions", longest + "p"), "value longer than 4095 bytes");
  EXPECT_EQ(std::string(o->suppressions), longest) << "kept what it had";
}

TEST(OptionsTest, ColonsSeparatePairsAndEmptyPairsAreSkipped) {
  auto o = Parsed("::depth=4::timeline_ms=0:");
  EXPECT_EQ(o->depth, 4);
  EXPECT_EQ(o->timeline_ms, 0);
  // A value runs to the next ':' and may hold '='.
  o = Parsed("output=a=b.json:depth=5");
  EXPECT_STREQ(o->output, "a=b.json");
  EXPECT_EQ(o->depth, 5);
  // The last of two settings wins.
  o = Parsed("depth=4:depth=6");
  EXPECT_EQ(o->depth, 6);
  // Nothing to parse changes nothing.
  for (const char* text : {static_cast<const char*>(nullptr), "", ":", ":::"}) {
    o = Parsed(text);
    EXPECT_EQ(o->depth, 32);
    EXPECT_STREQ(o->output, "heapwarden.%p.json");
  }
}

TEST(OptionsTest, BadPairsAreSkippedAndTheRestStillApply) {
  auto o = Parsed("depth=abc:nosuch=1:mode=sampled:fail_on_leak:trim_retained_mb=99999999999999999999:"
                  "timeline_ms=7");
  EXPECT_EQ(o->depth, 32);
  EXPECT_EQ(o->mode, kModeSampled);
  EXPECT_FALSE(o->fail_on_leak);
  EXPECT_EQ(o->trim_retained_mb, 256);
  EXPECT_EQ(o->timeline_ms, 7);
}

// The warnings go to stderr, at most kMaxWarnings a process: a re-executed child
// (death-test style "threadsafe") starts with none spent.
TEST(OptionsDeathTest, EachBadPairWarnsOnceOnStderr) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto o = Parsed("depth=abc:nosuch=1:mode=sampled:fail_on_leak:depth=");
        _exit(o->mode == kModeSampled && o->depth == 32 ? 0 : 1);
      },
      testing::ExitedWithCode(0),
      "^heapwarden: HEAPWARDEN_OPTIONS: depth: expected a non-negative integer, got 'abc'; ignored\n"
      "heapwarden: HEAPWARDEN_OPTIONS: nosuch: unknown key; ignored\n"
      "heapwarden: HEAPWARDEN_OPTIONS: 'fail_on_leak' has no '=value'; ignored\n"
      "heapwarden: HEAPWARDEN_OPTIONS: depth: expected a non-negative integer, got ''; ignored\n$");
}

TEST(OptionsDeathTest, GoodOptionsWarnNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto o = Parsed("depth=4:mode=sampled:output=x.json");
        _exit(o->depth == 4 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "^$");
}

}  // namespace
}  // namespace heapwarden::internal
