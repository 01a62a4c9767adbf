// timeline_test.cc: the timeline keeps a bounded number of evenly spaced samples and
// never loses the highest one when it merges.
#include "record/track/timeline.h"

#include <gtest/gtest.h>

#include <memory>

namespace heapwarden::internal {
namespace {

TimelineSample At(uint64_t t, uint64_t live) {
  TimelineSample s = {};
  s.time_ns = t;
  s.live_bytes = live;
  s.rss_bytes = live + 1;
  return s;
}

TEST(TimelineTest, KeepsEverySampleUntilFull) {
  auto timeline = std::make_unique<Timeline>();
  for (uint64_t i = 0; i < 100; ++i) timeline->Add(At(i, i * 10));
  auto out = std::make_unique<TimelineSample[]>(Timeline::kMaxSamples + 1);
  ASSERT_EQ(timeline->Copy(out.get(), Timeline::kMaxSamples + 1), 100);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i].live_bytes, static_cast<uint64_t>(i) * 10);
  EXPECT_EQ(timeline->stride(), 1u);
}

TEST(TimelineTest, FinalPointComesLastEvenBeforeTheFirstTick) {
  auto timeline = std::make_unique<Timeline>();
  auto out = std::make_unique<TimelineSample[]>(Timeline::kMaxSamples + 2);
  EXPECT_EQ(timeline->Copy(out.get(), Timeline::kMaxSamples + 2), 0);
  timeline->SetFinal(At(5, 42));
  ASSERT_EQ(timeline->Copy(out.get(), Timeline::kMaxSamples + 2), 1) << "a run shorter than one tick";
  EXPECT_EQ(out[0].live_bytes, 42u);
  for (uint64_t i = 0; i < 3; ++i) timeline->Add(At(i, i));
  timeline->SetFinal(At(9, 7));
  ASSERT_EQ(timeline->Copy(out.get(), Timeline::kMaxSamples + 2), 4);
  EXPECT_EQ(out[2].time_ns, 2u);
  EXPECT_EQ(out[3].time_ns, 9u) << "the final point is the last one, and only once";
}

TEST(TimelineTest, StaysBoundedAndKeepsThePeakOverLongRuns) {
  auto timeline = std::make_unique<Timeline>();
  const uint64_t kTicks = 100000;
  const uint64_t kPeakTick = 77777;
  for (uint64_t i = 0; i < kTicks; ++i) timeline->Add(At(i, i == kPeakTick ? 1000000 : i % 1000));
  auto out = std::make_unique<TimelineSample[]>(Timeline::kMaxSamples + 1);
  int n = timeline->Copy(out.get(), Timeline::kMaxSamples + 1);
  EXPECT_GE(n, Timeline::kMaxSamples / 2);
  EXPECT_LE(n, Timeline::kMaxSamples + 1);
  EXPECT_GE(timeline->stride(), kTicks / Timeline::kMaxSamples);
  bool peak = false;
  for (int i = 0; i < n; ++i) {
    if (i > 0) {
      EXPECT_GT(out[i].time_ns, out[i - 1].time_ns);
    }
    peak = peak || (out[i].time_ns == kPeakTick && out[i].live_bytes == 1000000);
  }
  EXPECT_TRUE(peak);
  // Evenly spaced: consecutive stored samples are one stride window apart at most
  // two windows (each keeps the max of its window, wherever it fell).
  EXPECT_LE(out[n / 2].time_ns - out[n / 2 - 1].time_ns, 2u * timeline->stride());
}

TEST(TimelineTest, TheWindowInProgressIsReported) {
  auto timeline = std::make_unique<Timeline>();
  for (uint64_t i = 0; i < Timeline::kMaxSamples + 1; ++i) timeline->Add(At(i, 5));
  // Stride is now 2: one tick sits in the pending window.
  auto out = std::make_unique<TimelineSample[]>(Timeline::kMaxSamples + 1);
  int n = timeline->Copy(out.get(), Timeline::kMaxSamples + 1);
  EXPECT_EQ(timeline->stride(), 2u);
  EXPECT_EQ(out[n - 1].time_ns, Timeline::kMaxSamples);
}

}  // namespace
}  // namespace heapwarden::internal
