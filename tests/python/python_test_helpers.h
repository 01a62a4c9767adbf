// python_test_helpers.h: reading Python frames out of reports, and the script checks
// that every CPython version runs (tests/python/scripts, lines marked "# LINE:name").
#ifndef HEAPWARDEN_TESTS_PYTHON_PYTHON_TEST_HELPERS_H_
#define HEAPWARDEN_TESTS_PYTHON_PYTHON_TEST_HELPERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "report_helpers.h"

namespace heapwarden::testutil {

std::string Script(const std::string& name);

// Line of the "# LINE:name" marker in a script, or -1.
int MarkedLine(const std::string& path, const std::string& name);

struct PyFrame {
  std::string function;
  std::string file;
  int64_t line;
};

// The python frames of a stack, innermost first.
std::vector<PyFrame> PythonFramesOf(const nlohmann::json* stack);
std::string Describe(const std::vector<PyFrame>& frames);

// The sites that allocated between `low` and `high` bytes in one block.
std::vector<const nlohmann::json*> SitesOfOneBlock(const nlohmann::json& report, int64_t low, int64_t high);

nlohmann::json Load(const std::string& path);

// The one site of a bytearray(n) (n + 1 bytes) made on `marker`'s line: its innermost
// Python frame must be `function` at that line of `script`.
void ExpectBytearraySite(const nlohmann::json& report, int64_t n, const std::string& script,
                         const std::string& marker, const std::string& function);

// The python frames of the one site of a bytearray(n).
std::vector<PyFrame> FramesOfBytearray(const nlohmann::json& report, int64_t n);

// shapes.py under `python`: generators, coroutines, an except block, recursion 500 deep.
void CheckShapes(const std::string& python);

// threads_fork.py under `python`: a threading.Thread and a multiprocessing fork child.
void CheckThreadsAndFork(const std::string& python);

}  // namespace heapwarden::testutil

#endif  // HEAPWARDEN_TESTS_PYTHON_PYTHON_TEST_HELPERS_H_
