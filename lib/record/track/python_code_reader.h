// python_code_reader.h: reads a CPython code object's name, file and line out of the
// process's own memory, without calling into the interpreter.
// Record side: no allocation, no locks. Every read goes through SafeCopy, so a pointer
// that turns out not to point at what the layout says gives `false`, never a fault.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_CODE_READER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_CODE_READER_H_

#include <cstddef>
#include <cstdint>

#include "record/track/python_layout.h"

namespace heapwarden::internal {

// Copies n bytes at `address` of this process into dst with process_vm_readv: an
// unmapped or unreadable address fails (false) instead of faulting. About a
// microsecond: used on first sight of an object, not for every read.
bool SafeCopy(void* dst, uintptr_t address, size_t n);

// Checks that SafeCopy works here (a seccomp profile may forbid process_vm_readv);
// remembers the pid. Call again in a fork child.
bool InitSafeCopy();

// Type objects the reads are checked against (addresses from dlsym).
struct PythonTypes {
  uintptr_t code;
  uintptr_t unicode;
  uintptr_t bytes;
};

// The UTF-8 text of a str object, at most cap - 1 bytes, NUL-terminated. False when
// `object` is not a compact str (the kind of every name and file name of code).
bool ReadPythonString(const PythonLayout& layout, const PythonTypes& types, uintptr_t object,
                      char* out, size_t cap, size_t* length);

// The line of the instruction `instr` (in code units) per the code object's
// co_linetable (Objects/locations.md), starting from `first_line`. 0 when the
// instruction has no line; -1 when the table cannot be read.
int PythonLineOf(const PythonLayout& layout, const PythonTypes& types, uintptr_t linetable,
                 int first_line, int instr);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_CODE_READER_H_
