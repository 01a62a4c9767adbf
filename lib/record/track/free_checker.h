// free_checker.h: memory errors on the free path -- freeing a pointer heapwarden never
// handed out (invalid_free), freeing a block twice (double_free), and releasing a block
// with the wrong family (mismatched_free: new[]/delete, new/free, malloc/delete).
// Hot path (inside free): runs inside free(); no malloc, no stdio. A fixed, direct-mapped record
// of recent frees (address and the freeing stack, 4 frames) serves double-free
// detection; errors go to a fixed table (deduplicated by kind and stack).
//
// What counts as which error, and why there are no false alarms from memory heapwarden
// merely did not see allocated (before tracking began, under the recursion guard, in
// sampled mode):
//  - mismatched_free: the block is tracked and was allocated by another family.
//    Checked only when operator new/new[]/delete/delete[] resolve to the preload's own
//    (a program that replaces them makes the families indistinguishable).
//  - double_free: the pointer is not live, and the record of recent frees says it was
//    freed before by a tracked free. A free older than the record's reach (it is
//    direct-mapped: 16384 slots) goes unnoticed, never misreported.
//  - invalid_free: the pointer is not live and provably never came from an allocator:
//    not 8-byte aligned (16 with glibc), inside a loaded module (a global or code), or
//    on the calling thread's stack. Any other unknown pointer is counted as an
//    untracked free, not an error.
// The program's behaviour does not change: the free still goes to the allocator (which
// may abort on it, as it would have without heapwarden). Because it may, an
// invalid or double free has the service thread write a snapshot at once and waits
// for it (bounded), so the report with the error exists before the process dies;
// nothing here writes a file itself. With halt_on_error=1 any error has the report
// written and aborts instead.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_FREE_CHECKER_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_FREE_CHECKER_H_

#include <cstdint>

#include "record/track/live_table.h"

namespace heapwarden::internal {

class Recorder;

// InitFreeChecks()
//
// Reads the options (check_frees, halt_on_error, mode, backend) and finds out whether
// the C++ allocation functions in use are the preload's own. Call from Recorder::Init
// with the recursion guard held (dlsym may allocate).
void InitFreeChecks(Recorder& recorder);

// CheckTrackedFree()
//
// Called by Recorder::OnFree once `block` has been taken out of the live table, before
// the real free: checks the family and remembers the free for double-free detection.
void CheckTrackedFree(Recorder& recorder, const LiveBlock& block, AllocKind free_kind,
                      uintptr_t caller);

// CheckUntrackedFree()
//
// Called by Recorder::OnFree for a non-null pointer the live table does not hold.
void CheckUntrackedFree(Recorder& recorder, uintptr_t address, AllocKind free_kind,
                        uintptr_t caller);

// ForgetRecentFree()
//
// The allocator handed `address` out again without heapwarden recording it (under the
// recursion guard: a signal handler that interrupted a hook): its earlier free is no
// evidence of a double free any more. Hot path; never blocks.
void ForgetRecentFree(uintptr_t address);

enum FreeErrorKind : uint8_t { kInvalidFree = 0, kDoubleFree = 1, kMismatchedFree = 2 };

// One error, deduplicated by kind and stack.
struct FreeError {
  FreeErrorKind kind = kInvalidFree;
  AllocKind allocated_by = kAllocMalloc;
  AllocKind freed_by = kAllocMalloc;
  uintptr_t address = 0;
  uint32_t stack = 0;        // the bad call
  uint32_t other_stack = 0;  // double free: first free; mismatch: the allocation
  bool has_other = false;
  uint64_t count = 0;
};

// The table keeps this many distinct errors; FreeErrorCount() counts them all.
inline constexpr int kMaxFreeErrors = 256;

// CopyFreeErrors()
//
// Copies up to `max` recorded errors, oldest first; returns how many. Takes the
// error table's lock: report time only.
int CopyFreeErrors(FreeError* out, int max);

// The report's words for an error and for the allocation families.
const char* FreeErrorName(FreeErrorKind kind);
const char* AllocatedByName(AllocKind kind);
const char* FreedByName(AllocKind kind);

// SetFreeErrorHandler()
//
// What to do at once after an error the allocator may abort on (and before
// halt_on_error aborts): the orchestration registers one that has the service thread
// write a snapshot and waits for it (bounded), so the error is on disk before the
// process dies; nothing in a hook writes a file. None: the error waits for the next report.
using FreeErrorHandler = void (*)(Recorder& recorder);
void SetFreeErrorHandler(FreeErrorHandler handler);

// Errors seen (including those beyond the table's capacity).
uint64_t FreeErrorCount();

// In a fork child: the error table's lock may have been held by another thread.
void ResetFreeChecksAfterFork();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_FREE_CHECKER_H_
