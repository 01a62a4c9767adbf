// stack_capture.h: the call stack of an allocation, as return addresses.
// Hot path. Two unwinders, both driven by the DWARF call-frame information that
// every Debian binary carries in .eh_frame (they have no frame pointers, so a
// frame-pointer walk would stop after a frame or two):
//  1. cfi_unwinder: heapwarden's own walker with a cache of per-return-address rules,
//     a few nanoseconds a frame. It handles the frames compilers emit for ordinary
//     code and gives up on anything else.
//  2. libunwind's unw_backtrace for the stacks the first gives up on (signal frames,
//     DWARF expressions). It is loaded with dlopen(RTLD_LOCAL) because libunwind.so.8
//     also exports _Unwind_* and backtrace(): linked normally it would sit in the
//     global scope and could capture the program's C++ exception unwinding.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_STACK_CAPTURE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_STACK_CAPTURE_H_

#include <cstdint>

#include "record/track/cfi_unwinder.h"

namespace heapwarden::internal {

inline constexpr int kMaxFrames = 128;

// Loads libunwind. Must run with the recursion guard held (dlopen allocates). Returns
// false when libunwind is unavailable; CaptureStack then records only the caller.
bool InitStackCapture();

// Fills `frames` with at most `max_frames` return addresses, innermost first, starting
// at `caller` (the return address of the interposed allocation function, so
// heapwarden's own frames are never shown). Returns the number of frames (>= 1).
// *same_as_last (when non-null) is set true only when the stack is exactly that of
// this thread's previous CaptureStack that also passed same_as_last. The frames are
// then not filled in (the caller already has what it made of them).
// With `key` non-null, the stack may come back named (key->key != 0, see WalkKey in
// cfi_unwinder.h) and then partly filled in: the return value is key->fresh.
// CompleteKeyedStack makes it whole.
int CaptureStack(uintptr_t* frames, int max_frames, uintptr_t caller, bool* same_as_last = nullptr,
                 WalkKey* key = nullptr);

// Fills in the outer frames of the stack CaptureStack just returned named (before the
// thread captures again) and drops heapwarden's own frames, as CaptureStack would
// have. Returns the count.
int CompleteKeyedStack(uintptr_t* frames, const WalkKey& key);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_STACK_CAPTURE_H_
