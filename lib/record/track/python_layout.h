// python_layout.h: where CPython keeps what heapwarden reads to put Python frames in
// stacks, per interpreter version. Record side: plain data.
//
// The numbers are offsetof() values printed by a C file compiled against the
// interpreter's own internal headers (Py_BUILD_CORE, x86-64): for 3.11, Debian 12's
// python3.11-dev 3.11.2 (/usr/include/python3.11/internal/pycore_frame.h,
// pycore_runtime.h, pycore_interp.h, cpython/pystate.h, cpython/code.h,
// cpython/unicodeobject.h); 3.11.7's headers give the same numbers. The structures are
// those of CPython's 3.11 branch; a version not listed here gets native stacks only.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_

#include <cstdint>

namespace heapwarden::internal {

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
  uint32_t tstate_cframe;
  uint32_t tstate_datastack_chunk;
  uint32_t cframe_current_frame;  // _PyCFrame.current_frame
  // _PyStackChunk: the thread's frame stack, in chunks of `size` bytes
  uint32_t chunk_previous;
  uint32_t chunk_size;
  uint32_t chunk_data;
  // _PyInterpreterFrame
  uint32_t frame_code;
  uint32_t frame_previous;
  uint32_t frame_prev_instr;  // the instruction being executed (a call, here)
  uint32_t frame_is_entry;    // bool: first frame of one _PyEval_EvalFrameDefault call
  uint32_t frame_owner;       // char: 0 thread, 1 generator, 2 frame object
  uint32_t frame_bytes;       // sizeof(_PyInterpreterFrame) up to the locals
  uint32_t owner_generator;
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
};

inline constexpr PythonLayout kPythonLayouts[] = {
    {
        .version = 0x030b,
        .runtime_tss_initialized = 592,
        .runtime_tss_key = 596,
        .runtime_auto_interpreter = 584,
        .interpreter_runtime = 40,
        .tstate_interp = 16,
        .tstate_cframe = 56,
        .tstate_datastack_chunk = 296,
        .cframe_current_frame = 8,
        .chunk_previous = 0,
        .chunk_size = 8,
        .chunk_data = 24,
        .frame_code = 32,
        .frame_previous = 48,
        .frame_prev_instr = 56,
        .frame_is_entry = 68,
        .frame_owner = 69,
        .frame_bytes = 72,
        .owner_generator = 1,
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
    },
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_LAYOUT_H_
