// auto_trim_test.cc: the trim=auto policy (lib/record/service/auto_trim.h) driven tick by tick:
// due only after two ticks above the threshold, at most once per interval, quiet while
// the signal stays low, backing off when trims do not help.

#include "record/service/auto_trim.h"

#include <gtest/gtest.h>

#include "record/base/options.h"

namespace heapwarden::internal {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kSecond = 1000000000ull;

AutoTrimPolicy Policy() {
  AutoTrimPolicy policy;
  policy.threshold_bytes = 100 * kMiB;
  policy.interval_ns = 10 * kSecond;
  return policy;
}

TEST(AutoTrimPolicy, DueAfterTwoTicksAboveTheThreshold) {
  AutoTrimPolicy policy = Policy();
  AutoTrimState state;
  EXPECT_FALSE(AutoTrimDue(policy, &state, 1 * kSecond, 50 * kMiB));
  EXPECT_FALSE(AutoTrimDue(policy, &state, 2 * kSecond, 150 * kMiB));
  EXPECT_TRUE(AutoTrimDue(policy, &state, 3 * kSecond, 150 * kMiB));
}

TEST(AutoTrimPolicy, ADipBelowRestartsTheCount) {
  AutoTrimPolicy policy = Policy();
  AutoTrimState state;
  EXPECT_FALSE(AutoTrimDue(policy, &state, 1 * kSecond, 150 * kMiB));
  EXPECT_FALSE(AutoTrimDue(policy, &state, 2 * kSecond, 90 * kMiB));
  EXPECT_FALSE(AutoTrimDue(policy, &state, 3 * kSecond, 150 * kMiB));
  EXPECT_TRUE(AutoTrimDue(policy, &state, 4 * kSecond, 150 * kMiB));
}

TEST(AutoTrimPolicy, AtMostOncePerInterval) {
  AutoTrimPolicy policy = Policy();
  AutoTrimState state;
  AutoTrimDue(policy, &state, 1 * kSecond, 150 * kMiB);
  ASSERT_TRUE(AutoTrimDue(policy, &state, 2 * kSecond, 150 * kMiB));
  AutoTrimDone(policy, &state, 2 * kSecond, 120 * kMiB);  // it helped
  // Above again at once (the program filled up again): not before the interval.
  for (uint64_t t = 3; t < 12; ++t) EXPECT_FALSE(AutoTrimDue(policy, &state, t * kSecond, 150 * kMiB)) << t;
  EXPECT_TRUE(AutoTrimDue(policy, &state, 12 * kSecond, 150 * kMiB));
}

TEST(AutoTrimPolicy, QuietWhileTheSignalStaysLow) {
  AutoTrimPolicy policy = Policy();
  AutoTrimState state;
  AutoTrimDue(policy, &state, 1 * kSecond, 300 * kMiB);
  ASSERT_TRUE(AutoTrimDue(policy, &state, 2 * kSecond, 300 * kMiB));
  AutoTrimDone(policy, &state, 2 * kSecond, 280 * kMiB);
  for (uint64_t t = 3; t < 100; ++t) EXPECT_FALSE(AutoTrimDue(policy, &state, t * kSecond, 20 * kMiB));
}

TEST(AutoTrimPolicy, BacksOffWhenTrimsDoNotHelp) {
  AutoTrimPolicy policy = Policy();
  AutoTrimState state;
  uint64_t t = 0;
  int trims = 0;
  // Pinned memory: retained stays at 500 MiB whatever the trims do, for 10 minutes.
  for (t = 1 * kSecond; t < 600 * kSecond; t += kSecond / 2) {
    if (AutoTrimDue(policy, &state, t, 500 * kMiB)) {
      AutoTrimDone(policy, &state, t, 1 * kMiB);
      ++trims;
    }
  }
  // Every 10 s would be 60 trims; doubling intervals (10, 20, 40, ... 640 s) give far fewer.
  EXPECT_LE(trims, 7);
  EXPECT_GE(trims, 4);
  EXPECT_EQ(state.backoff_shift, trims < kMaxAutoTrimBackoffShift ? trims : kMaxAutoTrimBackoffShift);
}

TEST(AutoTrimPolicy, FromOptions) {
  Options options;
  SetDefaultOptions(&options);
  EXPECT_EQ(options.trim, kTrimOff);
  AutoTrimPolicy policy = AutoTrimPolicyFromOptions(options);
  EXPECT_EQ(policy.threshold_bytes, 256 * kMiB);
  EXPECT_EQ(policy.interval_ns, 10 * kSecond);
  ParseOptions("trim=auto:trim_retained_mb=64:trim_interval_s=0.5", &options);
  EXPECT_EQ(options.trim, kTrimAuto);
  policy = AutoTrimPolicyFromOptions(options);
  EXPECT_EQ(policy.threshold_bytes, 64 * kMiB);
  EXPECT_EQ(policy.interval_ns, kSecond / 2);
}

}  // namespace
}  // namespace heapwarden::internal
