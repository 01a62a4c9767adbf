// report_human_size_test.cc: byte counts rendered for people.
// Report side.
#include <cstdint>

#include "gtest/gtest.h"
#include "report/human_size.h"

namespace heapwarden::report {
namespace {

TEST(HumanBytesTest, PicksTheUnit) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(5452595), "5.2 MiB");
  EXPECT_EQ(HumanBytes(int64_t{3} << 30), "3.0 GiB");
  EXPECT_EQ(HumanBytes(-2048), "-2.0 KiB");
}

TEST(HumanBytesTest, NeverPrints1024OfAUnit) {
  EXPECT_EQ(HumanBytes(1048575), "1.0 MiB");
  EXPECT_EQ(HumanBytes((int64_t{1} << 30) - 1), "1.0 GiB");
}

TEST(HumanBytesTest, ExtremesDoNotOverflow) {
  EXPECT_EQ(HumanBytes(INT64_MAX), "8.0 EiB");
  EXPECT_EQ(HumanBytes(INT64_MIN), "-8.0 EiB");
}

TEST(BytesWithExactTest, ExactFigureNextToTheRoundedOne) {
  EXPECT_EQ(BytesWithExact(1000), "1000 bytes");
  EXPECT_EQ(BytesWithExact(1337), "1.3 KiB (1337 bytes)");
  EXPECT_EQ(BytesWithExact(5452595), "5.2 MiB (5452595 bytes)");
}

}  // namespace
}  // namespace heapwarden::report
