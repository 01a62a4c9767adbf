// json_buffer_test.cc: the record side's JSON writer produces exactly the text a
// strict parser reads back: commas, escapes, UTF-8, numbers at their limits; and a
// buffer that cannot grow says so instead of handing out a truncated document.
#include "record/emit/json_buffer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace heapwarden::internal {
namespace {

std::string Text(const JsonBuffer& j) { return std::string(j.data(), j.size()); }

// The JSON text of one string value.
std::string Escape(const std::string& raw) {
  JsonBuffer j;
  j.StringN(nullptr, raw.data(), raw.size());
  return Text(j);
}

// The text of one Seconds value.
std::string SecondsText(double s) {
  JsonBuffer j;
  j.Seconds(nullptr, s);
  return Text(j);
}

TEST(JsonBufferTest, CommasBetweenMembersAndElementsAtEveryLevel) {
  JsonBuffer j;
  j.BeginObject();
  j.Uint("a", 1);
  j.BeginArray("b");
  j.Uint(nullptr, 1);
  j.Int(nullptr, -2);
  j.BeginObject();
  j.Bool("c", true);
  j.Bool("d", false);
  j.EndObject();
  j.BeginArray();
  j.EndArray();
  j.EndArray();
  j.Null("e");
  j.BeginObject("f");
  j.EndObject();
  j.EndObject();
  j.Newline();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(Text(j), "{\"a\":1,\"b\":[1,-2,{\"c\":true,\"d\":false},[]],\"e\":null,\"f\":{}}\n");
}

TEST(JsonBufferTest, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(Escape("plain"), "\"plain\"");
  EXPECT_EQ(Escape("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(Escape("C:\\dir\\"), "\"C:\\\\dir\\\\\"");
  EXPECT_EQ(Escape("a\nb\tc"), "\"a\\nb\\tc\"");
  EXPECT_EQ(Escape("\r\b\f"), "\"\\u000d\\u0008\\u000c\"");
  EXPECT_EQ(Escape(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(Escape(std::string("a\0b", 3)), "\"a\\u0000b\"") << "StringN keeps an embedded NUL";
  EXPECT_EQ(Escape(" ~/"), "\" ~/\"") << "printable ASCII and '/' stay as they are";
}

TEST(JsonBufferTest, KeysAreEscapedLikeValues) {
  JsonBuffer j;
  j.BeginObject();
  j.String("k\"\n", "v");
  j.EndObject();
  EXPECT_EQ(Text(j), "{\"k\\\"\\n\":\"v\"}");
}

TEST(JsonBufferTest, NullStringIsEmpty) {
  JsonBuffer j;
  j.String(nullptr, nullptr);
  EXPECT_EQ(Text(j), "\"\"");
}

TEST(JsonBufferTest, WellFormedUtf8PassesThrough) {
  // 2, 3 and 4 bytes, and the edges of each range.
  for (const char* s : {"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc2\x80", "\xdf\xbf",
                        "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_EQ(Escape(s), "\"" + std::string(s) + "\"") << s;
  }
}

TEST(JsonBufferTest, EveryByteThatStartsNoWellFormedSequenceBecomesAReplacement) {
  const std::string r = "\\ufffd";
  struct Case {
    std::string raw, escaped;
  } cases[] = {
      {"\x80", r},                           // a lone continuation byte
      {"a\xff" "b", "a" + r + "b"},          // never valid
      {"\xfe\xfe", r + r},
      {"\xc0\xaf", r + r},                   // overlong '/'
      {"\xc1\xbf", r + r},                   // overlong
      {"\xe0\x80\xaf", r + r + r},           // overlong, 3 bytes
      {"\xf0\x80\x80\xaf", r + r + r + r},   // overlong, 4 bytes
      {"\xed\xa0\x80", r + r + r},           // a UTF-16 surrogate, U+D800
      {"\xf4\x90\x80\x80", r + r + r + r},   // U+110000, above Unicode
      {"\xf5\x80\x80\x80", r + r + r + r},
      {"\xf8\x88\x80\x80\x80", r + r + r + r + r},
      {"\xe2\x82", r + r},                   // cut short by the end
      {"\xe2\x82" "A", r + r + "A"},         // cut short by ASCII
      {"\xc3\xa9\xc3", "\xc3\xa9" + r},      // a good one, then half of one
  };
  for (const Case& c : cases) {
    const std::string text = Escape(c.raw);
    EXPECT_EQ(text, "\"" + c.escaped + "\"");
    // What the report side reads with must accept it.
    EXPECT_TRUE(nlohmann::json::accept(text)) << text;
  }
}

TEST(JsonBufferTest, IntegersAtTheirLimits) {
  JsonBuffer j;
  j.BeginArray();
  j.Uint(nullptr, 0);
  j.Uint(nullptr, std::numeric_limits<uint64_t>::max());
  j.Int(nullptr, 0);
  j.Int(nullptr, -1);
  j.Int(nullptr, std::numeric_limits<int64_t>::max());
  j.Int(nullptr, std::numeric_limits<int64_t>::min());
  j.EndArray();
  EXPECT_EQ(Text(j),
            "[0,18446744073709551615,0,-1,9223372036854775807,-9223372036854775808]");
}

TEST(JsonBufferTest, HexIsALowerCaseStringWithoutLeadingZeros) {
  JsonBuffer j;
  j.BeginArray();
  j.Hex(nullptr, 0);
  j.Hex(nullptr, 0xdeadBEEF);
  j.Hex(nullptr, std::numeric_limits<uint64_t>::max());
  j.EndArray();
  EXPECT_EQ(Text(j), "[\"0x0\",\"0xdeadbeef\",\"0xffffffffffffffff\"]");
}

TEST(JsonBufferTest, SecondsHaveSixDecimalsRoundedToTheNearestMicrosecond) {
  EXPECT_EQ(SecondsText(0), "0.000000");
  EXPECT_EQ(SecondsText(1.5), "1.500000");
  EXPECT_EQ(SecondsText(0.25), "0.250000");
  EXPECT_EQ(SecondsText(123.456789), "123.456789");
  EXPECT_EQ(SecondsText(2.0000004), "2.000000");
  EXPECT_EQ(SecondsText(2.0000006), "2.000001");
  EXPECT_EQ(SecondsText(59.9999996), "60.000000") << "the carry reaches the whole seconds";
  EXPECT_EQ(SecondsText(86400.0 * 365), "31536000.000000");
}

TEST(JsonBufferTest, SecondsThatAreNotANumberOrOutOfRangeStayValidJson) {
  EXPECT_EQ(SecondsText(-1), "0.000000");
  EXPECT_EQ(SecondsText(-0.0), "0.000000");
  EXPECT_EQ(SecondsText(std::nan("")), "0.000000");
  EXPECT_EQ(SecondsText(-std::numeric_limits<double>::infinity()), "0.000000");
  // Beyond uint64_t microseconds the conversion was undefined; now it is clamped.
  EXPECT_EQ(SecondsText(std::numeric_limits<double>::infinity()), "1000000000000.000000");
  EXPECT_EQ(SecondsText(1e300), "1000000000000.000000");
  EXPECT_EQ(SecondsText(1e12), "1000000000000.000000");
}

TEST(JsonBufferTest, LargeDocumentGrowsAndParses) {
  JsonBuffer j;
  j.BeginArray();
  const std::string s(1000, 'x');
  for (int i = 0; i < 5000; ++i) j.String(nullptr, s.c_str());  // 5 MB: several growths
  j.EndArray();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j.size(), 2 + 5000 * 1002 + 4999u);
  const nlohmann::json parsed = nlohmann::json::parse(Text(j));
  ASSERT_EQ(parsed.size(), 5000u);
  EXPECT_EQ(parsed[4999].get<std::string>(), s);
}

// The address space in use now, from /proc/self/statm (pages).
size_t AddressSpaceBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0;
  if (fscanf(f, "%lu", &pages) != 1) pages = 0;
  fclose(f);
  return pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// In a child whose address space cannot hold the next doubling: exit 0 only when the
// buffer reports !ok() and stops growing.
[[noreturn]] void FillUntilMmapFails() {
  const size_t in_use = AddressSpaceBytes();
  if (in_use == 0) _exit(10);
  rlimit limit = {in_use + (48u << 20), in_use + (48u << 20)};
  if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(11);
  JsonBuffer j;
  j.BeginArray();
  static char chunk[1 << 16];
  for (char& c : chunk) c = 'y';
  for (int i = 0; i < 4096 && j.ok(); ++i) j.StringN(nullptr, chunk, sizeof(chunk));  // up to 256 MiB
  if (j.ok()) _exit(12);  // never ran out
  const size_t size = j.size();
  if (size < (8u << 20)) _exit(13);  // it should have grown a few times first
  j.String(nullptr, "more");
  j.EndArray();
  if (j.ok() || j.size() != size) _exit(14);  // kept writing after the failure
  _exit(0);
}

TEST(JsonBufferDeathTest, ABufferThatRunsOutOfRoomReportsNotOk) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "ASan's own allocator needs the address space this test takes away";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(FillUntilMmapFails(), testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace heapwarden::internal
