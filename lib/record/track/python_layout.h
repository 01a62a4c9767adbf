// python_layout.h: where CPython keeps what heapwarden reads to put Python frames in
// stacks, per interpreter version. Record side: plain data.
//
// The numbers are offsetof() values printed by a C file compiled against the
// interpreter's own internal headers (Py_BUILD_CORE, x86-64, default build: not
// free-threaded):
//  - 3.11: Debian 12's python3.11-dev 3.11.2 (/usr/include/python3.11/internal/
//    pycore_frame.h, pycore_runtime.h, pycore_interp.h, cpython/pystate.h,
//    cpython/code.h, cpython/unicodeobject.h); 3.11.7's headers give the same numbers;
//  - 3.12: the headers pyenv installs with 3.12.1 (same files, tag v3.12.1);
//  - 3.13: the headers of 3.13.0 (tag v3.13.0). 3.13 also publishes most of these
//    offsets in _PyRuntime.debug_offsets (_Py_DebugOffsets); python_stack.cc compares
//    them with this table at start-up and keeps stacks native when they differ (a
//    free-threaded build, a later 3.13 that moved a field).
// What changed between them, as read here:
//  - 3.11 and 3.12 reach the innermost frame through tstate->cframe->current_frame;
//    3.13 has tstate->current_frame (no _PyCFrame);
//  - 3.11 marks the first frame of each _PyEval_EvalFrameDefault call with is_entry;
//    3.12 and 3.13 push a shim frame owned by the C stack (FRAME_OWNED_BY_CSTACK)
//    below it instead, and have no is_entry;
//  - the code object is f_code up to 3.12, f_executable in 3.13 (None in the shim);
//    the instruction is prev_instr up to 3.12, instr_ptr in 3.13 (both the start of
//    the instruction being run, or one of its cache entries, which has its line);
//  - 3.12 dropped wstr from str objects (the character data moved 8 bytes down).
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_

#include <cstdint>

namespace heapwarden::internal {

inline constexpr uint32_t kNoCFrame = 0xffffffff;
inline constexpr uint32_t kNoEntryFlag = 0xffffffff;
inline constexpr uint32_t kNoOwner = 0xff;

struct PythonLayout {
  uint32_t version;  // 0x030b for 3.11: (PY_VERSION_HEX >> 16)
  // _PyRuntimeState: gilstate.autoTSSkey (a Py_tss_t: int _is_initialized, then the
  // pthread key) and gilstate.autoInterpreterState.
  uint32_t runtime_tss_initialized;
  uint32_t runtime_tss_key;
  uint32_t runtime_auto_interpreter;
  uint32_t interpreter_runtime;  // PyInterpreterState.runtime: back to _PyRuntime
  // PyThreadState
  uint32_t tstate_interp;
  uint32_t tstate_current_frame;  // 3.11, 3.12: tstate->cframe; 3.13: tstate->current_frame
  uint32_t tstate_datastack_chunk;
  uint32_t cframe_current_frame;  // _PyCFrame.current_frame; kNoCFrame in 3.13
  // _PyStackChunk: the thread's frame stack, in chunks of `size` bytes
  uint32_t chunk_previous;
  uint32_t chunk_size;
  uint32_t chunk_data;
  // _PyInterpreterFrame
  uint32_t frame_code;
  uint32_t frame_previous;
  uint32_t frame_instr;     // prev_instr / instr_ptr: the instruction being run (a call, here)
  uint32_t frame_is_entry;  // 3.11's bool: first frame of one evaluator call; else kNoEntryFlag
  uint32_t frame_owner;     // char: 0 thread, 1 generator, 2 frame object, 3 C stack (3.12+)
  uint32_t frame_bytes;       // sizeof(_PyInterpreterFrame) up to the locals
  uint32_t owner_generator;
  uint32_t owner_cstack;  // the evaluator's shim frame (3.12+); kNoOwner in 3.11
  // PyObject / PyVarObject
  uint32_t object_type;
  uint32_t var_size;
  // PyCodeObject
  uint32_t code_filename;
  uint32_t code_name;
  uint32_t code_qualname;
  uint32_t code_linetable;
  uint32_t code_firstlineno;     // int
  uint32_t code_firsttraceable;  // int, in code units: frames before it are incomplete
  uint32_t code_bytecode;        // co_code_adaptive: _PyCode_CODE()
  uint32_t code_header_bytes;    // what is read of a code object: up to the bytecode
  // PyBytesObject
  uint32_t bytes_data;
  // PyASCIIObject / PyCompactUnicodeObject
  uint32_t unicode_length;
  uint32_t unicode_state;
  uint32_t unicode_ascii_data;    // sizeof(PyASCIIObject)
  uint32_t unicode_utf8_length;
  uint32_t unicode_utf8;
  uint32_t unicode_compact_data;  // sizeof(PyCompactUnicodeObject)
  bool has_debug_offsets;         // _PyRuntime starts with _Py_DebugOffsets (3.13+)
};

inline constexpr PythonLayout kPythonLayouts[] = {
    {
        .version = 0x030b,
        .runtime_tss_initialized = 592,
        .runtime_tss_key = 596,
        .runtime_auto_interpreter = 584,
        .interpreter_runtime = 40,
        .tstate_interp = 16,
        .tstate_current_frame = 56,
        .tstate_datastack_chunk = 296,
        .cframe_current_frame = 8,
        .chunk_previous = 0,
        .chunk_size = 8,
        .chunk_data = 24,
        .frame_code = 32,
        .frame_previous = 48,
        .frame_instr = 56,
        .frame_is_entry = 68,
        .frame_owner = 69,
        .frame_bytes = 72,
        .owner_generator = 1,
        .owner_cstack = kNoOwner,
        .object_type = 8,
        .var_size = 16,
        .code_filename = 112,
        .code_name = 120,
        .code_qualname = 128,
        .code_linetable = 136,
        .code_firstlineno = 72,
        .code_firsttraceable = 168,
        .code_bytecode = 184,
        .code_header_bytes = 184,
        .bytes_data = 32,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_data = 48,
        .unicode_utf8_length = 48,
        .unicode_utf8 = 56,
        .unicode_compact_data = 72,
        .has_debug_offsets = false,
    },
    {
        .version = 0x030c,
        .runtime_tss_initialized = 1544,
        .runtime_tss_key = 1548,
        .runtime_auto_interpreter = 2568,
        .interpreter_runtime = 96,
        .tstate_interp = 16,
        .tstate_current_frame = 56,
        .tstate_datastack_chunk = 232,
        .cframe_current_frame = 0,
        .chunk_previous = 0,
        .chunk_size = 8,
        .chunk_data = 24,
        .frame_code = 0,
        .frame_previous = 8,
        .frame_instr = 56,
        .frame_is_entry = kNoEntryFlag,
        .frame_owner = 70,
        .frame_bytes = 72,
        .owner_generator = 1,
        .owner_cstack = 3,
        .object_type = 8,
        .var_size = 16,
        .code_filename = 112,
        .code_name = 120,
        .code_qualname = 128,
        .code_linetable = 136,
        .code_firstlineno = 68,
        .code_firsttraceable = 176,
        .code_bytecode = 192,
        .code_header_bytes = 192,
        .bytes_data = 32,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_data = 40,
        .unicode_utf8_length = 40,
        .unicode_utf8 = 48,
        .unicode_compact_data = 56,
        .has_debug_offsets = false,
    },
    {
        .version = 0x030d,
        .runtime_tss_initialized = 2160,
        .runtime_tss_key = 2164,
        .runtime_auto_interpreter = 9888,
        .interpreter_runtime = 7376,
        .tstate_interp = 16,
        .tstate_current_frame = 72,
        .tstate_datastack_chunk = 232,
        .cframe_current_frame = kNoCFrame,
        .chunk_previous = 0,
        .chunk_size = 8,
        .chunk_data = 24,
        .frame_code = 0,
        .frame_previous = 8,
        .frame_instr = 56,
        .frame_is_entry = kNoEntryFlag,
        .frame_owner = 70,
        .frame_bytes = 72,
        .owner_generator = 1,
        .owner_cstack = 3,
        .object_type = 8,
        .var_size = 16,
        .code_filename = 112,
        .code_name = 120,
        .code_qualname = 128,
        .code_linetable = 136,
        .code_firstlineno = 68,
        .code_firsttraceable = 184,
        .code_bytecode = 200,
        .code_header_bytes = 200,
        .bytes_data = 32,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_data = 40,
        .unicode_utf8_length = 40,
        .unicode_utf8 = 48,
        .unicode_compact_data = 56,
        .has_debug_offsets = true,
    },
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_
