// python_stack.h: the Python frames a thread is running, merged into its native stack.
// Record side. No call into the interpreter, no allocation, no lock on the common path:
// the recorder may be inside malloc with or without the GIL.
//
// How (CPython 3.11 to 3.13, python_layout.h for the offsets and what changed):
//  - the thread's PyThreadState comes from the key PyGILState uses
//    (_PyRuntime's autoTSSkey), read with pthread_getspecific: only threads the
//    interpreter made or adopted have one; a BLAS worker or a C library's thread has
//    none and keeps native frames;
//  - its frames: the innermost (tstate->cframe->current_frame up to 3.12,
//    tstate->current_frame in 3.13), then each frame's `previous`. They live in the
//    thread's own data stack chunks (checked against the chunk list) or, for a running
//    generator or coroutine (or 3.12+'s shim frames on the C stack), elsewhere (then
//    copied with SafeCopy the first time). Nothing on that chain can change while this
//    thread is in malloc: only the thread itself pushes and pops its frames, and each
//    frame keeps its code object alive;
//  - one native call of _PyEval_EvalFrameDefault runs several Python frames. 3.11 sets
//    is_entry on the first frame of each call; 3.12+ pushes a shim frame owned by the C
//    stack below it. So the chain splits into groups there, innermost first, one per
//    native _PyEval_EvalFrameDefault frame, and each such native frame is replaced by
//    its group. When the counts disagree (an evaluator of another name, a stack cut
//    short where it cannot be checked), the stack stays native: never a wrong frame.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_STACK_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_STACK_H_

#include <atomic>
#include <cstdint>

namespace heapwarden::internal {

inline constexpr int kMaxPythonFrames = 128;

// The Python frames of the calling thread, innermost first, as read (not yet named).
struct PythonChain {
  int count;
  bool complete;        // the chain ended within kMaxPythonFrames
  uint64_t signature;   // hash of every (code, instruction, entry) read
  uintptr_t code[kMaxPythonFrames];
  int32_t instr[kMaxPythonFrames];  // -1: an incomplete frame (not shown)
  bool entry[kMaxPythonFrames];     // closes a group (3.11's is_entry; 3.12+'s shim frame)
};

// Looks for a CPython this module knows in the process (dlsym at init: the executable
// or a libpython loaded with it). Prints one warning for a CPython of a version it
// does not know. Must run with the recursion guard held (dlsym may allocate).
void InitPythonStacks(bool enabled);

// True once a known CPython was found (frames may then appear).
bool PythonStacksActive();

// A libpython loaded with dlopen after start-up: ModuleTable::Resolve calls this with a
// code address of each module it meets for the first time (lock-free, no allocation);
// the next ReadPythonChain asks that module for _PyRuntime.
void NotePythonCandidateModule(uintptr_t pc);

// Bit 0: a known CPython is active; bit 1: modules wait to be asked. The recorder reads
// it before calling ReadPythonChain, so a program with no Python pays one load.
extern std::atomic<uint32_t> g_python_maybe;
inline bool PythonStacksMaybe() { return g_python_maybe.load(std::memory_order_relaxed) != 0; }

// Reads the calling thread's Python frames. False when the thread has none (no thread
// state, or not running Python code) or they cannot be read. Not active yet and a new
// module waits to be asked (NotePythonCandidateModule): asks it first (dlsym: the
// caller must hold the recursion guard and none of heapwarden's locks).
bool ReadPythonChain(PythonChain* chain);

// Replaces the native _PyEval_EvalFrameDefault frames of frames[0..depth) with the
// named Python frames of `chain`, keeping the innermost max_depth frames (capacity:
// kMaxFrames). native_complete: the native walk reached the stack's end. Returns the
// new depth, or `depth` unchanged (the native stack) when the two cannot be matched or
// a frame cannot be named.
int MergePythonFrames(uintptr_t* frames, int depth, bool native_complete, const PythonChain& chain,
                      int max_depth);

// CaptureStack (stack_capture.h) with the calling thread's Python frames merged in, at
// most max_depth frames in all: for the rarer events (mmap) that do not keep the
// recorder's same-stack shortcut.
int CaptureStackWithPython(uintptr_t* frames, int max_depth, uintptr_t caller);

// Counters: stacks left native because the frames did not match the native stack or
// could not be read.
struct PythonStackStats {
  uint64_t mismatched;
  uint64_t unreadable;
};
PythonStackStats ReadPythonStackStats();

// fork(): the child has one thread left and a new pid for SafeCopy.
void PythonStacksAfterForkChild();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_PYTHON_STACK_H_
