// leak_check_listener.h: per-test leak checks for GoogleTest. Under heapwarden
// (`heapwarden run -- ./unit_tests`, the bare preload, or libheapwarden linked in) the
// listener fails each test during which memory leaked -- allocated in the test, still
// live and unreachable when it ends -- naming the allocating stack, with the same
// suppressions and max_leak_bytes as the exit gate. Without heapwarden it does
// nothing, and the tests run as they always did.
//
// Adding it to a test binary's main():
//
//   #include "heapwarden/leak_check_listener.h"
//
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     heapwarden::InstallLeakCheckListener();
//     return RUN_ALL_TESTS();
//   }
//
// and in CMake, after find_package(heapwarden CONFIG):
//   target_link_libraries(unit_tests PRIVATE heapwarden::gtest)
// or with pkg-config: `pkg-config --cflags --libs heapwarden-gtest`. A test that leaks
// on purpose can opt out with HEAPWARDEN_ALLOW_LEAKS() in its body.
//
// Header-only, over the C functions of heapwarden/leak_check.h (weak: found at run
// time in the preload or libheapwarden). The verdict, symbols and suppressions are
// the heapwarden tool's, run in a helper process, so the listener adds nothing to the
// test program's memory beyond GoogleTest's own record of a failure.
#ifndef HEAPWARDEN_LEAK_CHECK_LISTENER_H_
#define HEAPWARDEN_LEAK_CHECK_LISTENER_H_

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "heapwarden/leak_check.h"

namespace heapwarden {

namespace internal {

inline bool& LeaksAllowedInCurrentTest() {
  static bool allowed = false;
  return allowed;
}

// The source position of the frame a failure should point at, from the tool's leak
// report ("    #0 0x55d0c0a1b2c3 in f() /src/a.cc:12"): the first frame of the first
// group with a file outside /usr (the test's own code rather than a library's inline
// header), else the first frame with a file at all. False when no frame has one.
inline bool LeakLocation(const char* text, std::string* file, int* line) {
  std::string fallback_file;
  int fallback_line = 0;
  bool in_group = false;
  for (const char* p = text; *p != '\0';) {
    const char* end = std::strchr(p, '\n');
    if (end == nullptr) end = p + std::strlen(p);
    const std::string row(p, static_cast<size_t>(end - p));
    p = *end == '\n' ? end + 1 : end;
    if (row.find(" leak of ") != std::string::npos) {
      if (in_group) break;  // only the first group
      in_group = true;
      continue;
    }
    if (!in_group || row.compare(0, 5, "    #") != 0) continue;
    const size_t space = row.rfind(' ');
    const size_t colon = row.rfind(':');
    if (space == std::string::npos || colon == std::string::npos || colon < space) continue;
    const std::string digits = row.substr(colon + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string path = row.substr(space + 1, colon - space - 1);
    if (path.compare(0, 5, "/usr/") != 0) {
      *file = path;
      *line = std::atoi(digits.c_str());
      return true;
    }
    if (fallback_file.empty()) {
      fallback_file = path;
      fallback_line = std::atoi(digits.c_str());
    }
  }
  if (fallback_file.empty()) return false;
  *file = fallback_file;
  *line = fallback_line;
  return true;
}

// The tool's leak report, from its first leak group: the run-level header lines it
// prints before them say nothing about one test.
inline const char* LeakGroups(const char* text) {
  for (const char* marker : {"ERROR: heapwarden: detected memory leaks", "Direct leak of",
                             "Indirect leak of"}) {
    if (const char* at = std::strstr(text, marker)) return at;
  }
  return text;
}

}  // namespace internal

// LeakCheckListener
//
// Opens a leak-check window (heapwarden/leak_check.h) when a test starts and closes it
// when the test ends; leaks the exit gate would fail on become a non-fatal failure of
// that test, reported at the allocating source line when debug information names it.
// The fixture has been destroyed by then, so what it owned and freed is no leak.
// Memory a test leaves reachable from a global (a cache, a singleton) is not a leak
// either.
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    internal::LeaksAllowedInCurrentTest() = false;
    window_ = heapwarden_leak_check_available() ? heapwarden_leak_check_begin() : 0;
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    if (window_ == 0) return;
    const uint64_t window = window_;
    window_ = 0;
    heapwarden_leak_check_result result;
    if (internal::LeaksAllowedInCurrentTest() || heapwarden_leak_check_verdict == nullptr) {
      // Allowed: close the window without asking the tool anything.
      heapwarden_leak_check_end(window, &result);
      if (internal::LeaksAllowedInCurrentTest() || result.leaked_bytes == 0) return;
      ADD_FAILURE() << "heapwarden: this test leaked " << result.leaked_bytes << " byte(s) in "
                    << result.leaked_blocks
                    << " object(s) (this heapwarden has no verdict function to name them)";
      return;
    }
    // Static: the message is the tool's text, and the listener's own memory should not
    // show in the program's report.
    static char message[64 * 1024];
    // 1: GoogleTest's event dispatcher called this, from the frames the test ran in.
    if (heapwarden_leak_check_verdict(window, 1, &result, message, sizeof(message)) != 1) return;
    std::string file;
    int line = 0;
    char header[160];
    std::snprintf(header, sizeof(header),
                  "heapwarden: this test leaked %" PRIu64 " byte(s) in %" PRIu64 " object(s)\n",
                  result.leaked_bytes, result.leaked_blocks);
    // The test is still the current one: the failure is recorded against it.
    if (internal::LeakLocation(message, &file, &line)) {
      ADD_FAILURE_AT(file.c_str(), line) << header << internal::LeakGroups(message);
    } else {
      ADD_FAILURE() << header << internal::LeakGroups(message);
    }
  }

 private:
  uint64_t window_ = 0;
};

// InstallLeakCheckListener()
//
// Adds a LeakCheckListener after GoogleTest's result printer (end events run in
// reverse order, so the printer shows the leak as the test's failure). Call after
// InitGoogleTest. Returns false, and adds nothing, when heapwarden is not tracking
// this process.
inline bool InstallLeakCheckListener() {
  if (!heapwarden_leak_check_available()) return false;
  // Loaded but not tracking (a fork child, a failed start, sampled mode): begin says
  // so. The window it opens is replaced by the first test's.
  if (heapwarden_leak_check_begin() == 0) return false;
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheckListener);
  return true;
}

// HEAPWARDEN_ALLOW_LEAKS()
//
// Inside a test: its leaks are not reported (for a test of code that leaks on purpose).
inline void AllowLeaksInCurrentTest() { internal::LeaksAllowedInCurrentTest() = true; }
#define HEAPWARDEN_ALLOW_LEAKS() ::heapwarden::AllowLeaksInCurrentTest()

}  // namespace heapwarden

#endif  // HEAPWARDEN_LEAK_CHECK_LISTENER_H_
