// python_frame_table.h: Python frames as values of a stack's frame array.
// A Python frame is stored among the return addresses as kPythonFrameTag | id: bit 63
// is never set in a user-space code address on x86-64, so the site table interns and
// compares such stacks like any other, and two Python lines that call the same C
// function make two sites. The id names (function, file, line), resolved from the code
// object the first time that code and instruction are seen and copied into mmap'd
// memory, so a code object freed later cannot be misread.
// Record side: lookups are lock-free; a new frame takes a spin lock while it is read
// and copied (once per distinct code object and instruction).
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_FRAME_TABLE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_FRAME_TABLE_H_

#include <cstdint>

#include "record/track/python_code_reader.h"
#include "record/track/python_layout.h"

namespace heapwarden::internal {

inline constexpr uintptr_t kPythonFrameTag = uintptr_t{1} << 63;

inline bool IsPythonFrame(uintptr_t frame) { return (frame & kPythonFrameTag) != 0; }
inline uint32_t PythonFrameId(uintptr_t frame) { return static_cast<uint32_t>(frame); }

struct PythonFrameInfo {
  const char* function;  // co_qualname
  const char* file;      // co_filename
  int32_t line;          // 0: the instruction has no line
};

// Reserves the tables. False when mmap fails.
bool InitPythonFrameTable(const PythonLayout* layout, const PythonTypes& types);

// The id (>= 1) of the frame running instruction `instr` (code units) of the code
// object at `code`, which the caller has checked is a live code object. 0 when it
// cannot be read or the tables are full: the caller then keeps native frames only.
uint32_t InternPythonFrame(uintptr_t code, int32_t instr);

// The frame behind an id from InternPythonFrame; nullptr for an unknown id.
const PythonFrameInfo* PythonFrameAt(uint32_t id);

// Distinct Python frames so far, and what their copies cost (heapwarden's own memory).
uint32_t PythonFrameCount();
uint64_t PythonFrameTableMappedBytes();

// fork(): the table's lock is taken in the prepare handler and released (or reset in
// the child) afterwards, like the site table's.
void LockPythonFrameTable();
void UnlockPythonFrameTable();
void ResetPythonFrameTableAfterFork();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_FRAME_TABLE_H_
