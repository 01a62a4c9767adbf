// leak_check_listener.h: per-test leak checks for GoogleTest. Under heapwarden
// (`heapwarden run -- ./unit_tests`, the bare preload, or libheapwarden linked in) the
// listener fails each test during which memory leaked -- allocated in the test, still
// live and unreachable when it ends -- naming the allocating stack. Without heapwarden
// it does nothing, and the tests run as they always did.
//
// Adding it to a test binary's main():
//
//   #include "leak_check_listener.h"   // lib/gtest, on heapwarden_gtest's include path
//
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     heapwarden::InstallLeakCheckListener();
//     return RUN_ALL_TESTS();
//   }
//
// and in CMake: target_link_libraries(unit_tests PRIVATE heapwarden_gtest). A test that
// leaks on purpose can opt out with HEAPWARDEN_ALLOW_LEAKS() in its body.
//
// Report side, used in the test program: it symbolizes the leaked stacks in-process
// with elfutils (function, file, line) after the scan.
#ifndef HEAPWARDEN_LIB_GTEST_LEAK_CHECK_LISTENER_H_
#define HEAPWARDEN_LIB_GTEST_LEAK_CHECK_LISTENER_H_

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

struct heapwarden_leak_check_result;

namespace heapwarden {

// LeakCheckListener
//
// Opens a leak-check window (heapwarden/leak_check.h) when a test starts and closes it
// when the test ends; a leak becomes a non-fatal failure of that test, reported at the
// allocating source line when debug information names it. The fixture has been
// destroyed by then, so what it owned and freed is no leak. Memory a test leaves
// reachable from a global (a cache, a singleton) is not a leak either.
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& test) override;
  void OnTestEnd(const ::testing::TestInfo& test) override;

 private:
  uint64_t window_ = 0;
};

// InstallLeakCheckListener()
//
// Adds a LeakCheckListener after GoogleTest's result printer (end events run in
// reverse order, so the printer shows the leak as the test's failure). Call after
// InitGoogleTest. Returns false, and adds nothing, when heapwarden is not tracking
// this process.
bool InstallLeakCheckListener();

// HEAPWARDEN_ALLOW_LEAKS()
//
// Inside a test: its leaks are not reported (for a test of code that leaks on purpose).
void AllowLeaksInCurrentTest();
#define HEAPWARDEN_ALLOW_LEAKS() ::heapwarden::AllowLeaksInCurrentTest()

// DescribeLeaks()
//
// The failure message for `result`, LeakSanitizer-style, symbolized:
//   heapwarden: this test leaked 1234 byte(s) in 1 object(s)
//   Direct leak of 1234 byte(s) in 1 object(s) allocated from:
//       #0 0x55d0c0a1b2c3 in LeakyTest_Leaks_Test::TestBody() tests/leaky_test.cc:20
// *file and *line are set to the first frame with a source line (else "" and 0).
std::string DescribeLeaks(const heapwarden_leak_check_result& result, std::string* file,
                          int* line);

}  // namespace heapwarden

#endif  // HEAPWARDEN_LIB_GTEST_LEAK_CHECK_LISTENER_H_
