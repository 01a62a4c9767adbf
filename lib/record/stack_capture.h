// stack_capture.h: the call stack of an allocation, as return addresses.
// Record side: libunwind's cached "fast trace", loaded with dlopen(RTLD_LOCAL).
//
// Why libunwind, and why not linked: Debian's binaries have no frame pointers, so a
// frame-pointer walk stops after a frame or two; libgcc's _Unwind_Backtrace is right
// but re-parses DWARF CFI on every frame. libunwind's unw_backtrace caches the unwind
// rule of each return address per thread and then walks a stack with a few loads per
// frame. It is loaded privately because libunwind.so.8 also exports _Unwind_* and
// backtrace(): linked normally it would sit in the global scope and could capture the
// program's C++ exception unwinding.
#ifndef HEAPWARDEN_LIB_RECORD_STACK_CAPTURE_H_
#define HEAPWARDEN_LIB_RECORD_STACK_CAPTURE_H_

#include <cstdint>

namespace heapwarden::internal {

inline constexpr int kMaxFrames = 128;

// Loads libunwind. Must run with the recursion guard held (dlopen allocates). Returns
// false when libunwind is unavailable; CaptureStack then records only the caller.
bool InitStackCapture();

// Fills `frames` with at most `max_frames` return addresses, innermost first, starting
// at `caller` (the return address of the interposed allocation function, so
// heapwarden's own frames are never shown). Returns the number of frames (>= 1).
int CaptureStack(uintptr_t* frames, int max_frames, uintptr_t caller);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_STACK_CAPTURE_H_
