// cfi_unwinder.h: a fast stack walker for x86-64 that follows each function's DWARF
// call-frame information (.eh_frame) and caches the rule of every return address.
// Hot path: no allocation, no locks on the walk; a cache miss parses the FDE in
// place (found through _dl_find_object, lock-free) and publishes the rule with a
// single atomic store.
//
// Why not libunwind for every allocation: unw_backtrace spends ~120 ns setting up a
// cursor before it walks a single frame, which is several times what glibc's malloc
// and free cost together. The rules this walker understands are the ones compilers
// emit for ordinary code (CFA = rsp or rbp + offset, rbp saved at a fixed offset,
// return address at CFA-8); anything else (signal frames, DWARF expressions, stacks
// it cannot bound) makes it give up, and the caller falls back to libunwind.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_CFI_UNWINDER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_CFI_UNWINDER_H_

#include <cstdint>

namespace heapwarden::internal {

// Walks the calling thread's stack. Skips frames until the return address `caller`
// appears, then stores it and up to `max_frames - 1` outer return addresses.
// Returns the count, 0 when the stack simply ends before `caller` is seen, or -1
// when it met a frame it cannot unwind (the caller should use a general unwinder).
// *same_as_last (when non-null) is set true when the stack is, provably, exactly that
// of this thread's previous walk (the recorder then reuses its site); `frames` then
// holds only frames[0], and the count is the previous walk's.
//
// With `key` non-null, the walk may name its stack by key->key, a 64-bit hash of its
// frames kept with the walk memo (cfi_unwinder.cc): the same key is the same frames.
// A walk that joins this thread's previous one then does not copy the frames they
// share: it fills in only frames[0..key->fresh) and returns key->fresh;
// CfiKeyedFrames fills in the rest when the caller needs them. key->key is 0 when the
// walk has no key; the frames are then filled in whole.
struct WalkKey {
  uint64_t key;
  int fresh;
  int frames;  // the whole walk's count
};
int CfiBacktrace(uintptr_t* frames, int max_frames, uintptr_t caller, bool* same_as_last = nullptr,
                 WalkKey* key = nullptr);

// Fills in frames[key.fresh..key.frames) of the walk that just set `key`. Call it
// before this thread walks again.
void CfiKeyedFrames(uintptr_t* frames, const WalkKey& key);

// CfiStackAbove()
//
// The stack pointer of the calling thread once the function calling this one and
// `frames` more of its callers have returned (with 0: the caller's own CFA), or 0 when
// a frame cannot be unwound. A leak scan of the thread's stack that starts there leaves out
// those frames, whose unused slots hold leftovers of code that ran before.
uintptr_t CfiStackAbove(int frames);

// Forget cached rules: code may have been unloaded (dlclose) and other code mapped
// at the same addresses.
void CfiInvalidateCache();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_CFI_UNWINDER_H_
