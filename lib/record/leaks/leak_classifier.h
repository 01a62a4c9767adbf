// leak_classifier.h: sorts the blocks still live at exit into direct leaks, indirect
// leaks and reachable blocks, by a conservative pointer scan as LeakSanitizer and
// memcheck do.
// Exit, with the world stopped: runs in the exit path with every other thread stopped, so it never
// calls malloc (a stopped thread may hold glibc's malloc lock) and uses only mmap'd
// scratch memory; no stdio, no exceptions.
//
// Roots: the writable PT_LOAD segments of every loaded module except heapwarden's own;
// each thread's stack from its stack pointer to the top of the mapping that holds it
// (with the registers the signal frame saved, and glibc's static TLS and TCB, which sit
// at the top of a thread's stack); the static TLS and TCB of threads whose TLS lies
// elsewhere (the main thread's); the calling thread's stack above `stack_top`. A word
// that points anywhere inside a live block (interior pointers count) makes the block
// reachable, and everything reachable from it. Among the rest, a block pointed to by
// another leaked block is indirect; the others are direct (in a cycle of leaked blocks
// with no way in, the lowest address is the direct one, as memcheck reports it).
#ifndef HEAPWARDEN_LIB_RECORD_LEAKS_LEAK_CLASSIFIER_H_
#define HEAPWARDEN_LIB_RECORD_LEAKS_LEAK_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

class Recorder;

enum LeakKind : uint8_t { kLeakDirect = 0, kLeakIndirect = 1, kLeakReachable = 2, kLeakKinds = 3 };

struct LeakCounts {
  uint64_t blocks;
  uint64_t bytes;
};

// What one scan found, per site and kind, and what the scan cost.
struct LeakClassification {
  uint32_t site_count = 0;
  LeakCounts* counts = nullptr;  // site_count * kLeakKinds entries, mmap'd
  size_t counts_bytes = 0;

  uint64_t threads = 0;              // other threads found
  uint64_t threads_not_stopped = 0;  // of which did not answer the stop signal
  uint64_t blocks = 0;               // live heap blocks classified
  uint64_t block_bytes = 0;
  uint64_t root_bytes = 0;           // bytes of roots scanned
  uint64_t scanned_bytes = 0;        // roots plus reachable and leaked block contents
  uint64_t stopped_ns = 0;           // how long other threads were stopped
  uint64_t total_ns = 0;             // the whole classification
  uint64_t cpu_ns = 0;               // CPU time of the classifying thread

  const LeakCounts& at(uint32_t site, LeakKind kind) const { return counts[site * kLeakKinds + kind]; }
};

// The live blocks at some earlier moment (heapwarden_leak_check_begin): blocks still
// live and unchanged since then are not counted by a scan given this baseline (they
// are still scanned, and may make newer blocks reachable). Sorted by address.
struct BaselineBlock {
  uintptr_t address;
  uint32_t site;
  uint32_t birth_ms;
};
struct LeakBaseline {
  BaselineBlock* blocks = nullptr;
  size_t count = 0;
  size_t mapped_bytes = 0;
};

// TakeLeakBaseline()
//
// Copies the live heap blocks into *out (mmap'd). Takes each live-table shard's lock
// in turn; stops no thread. Returns false when the memory cannot be mapped.
bool TakeLeakBaseline(Recorder& recorder, LeakBaseline* out);
void ReleaseLeakBaseline(LeakBaseline* baseline);

// ClassifyLeaks()
//
// Stops the other threads, scans, lets them go, and fills *out. `stack_top` is an
// address in the frame of the outermost heapwarden function on the calling thread's
// stack: the caller's stack is scanned from there up, so that heapwarden's own frames
// (full of stale copies of block addresses) are not taken for roots; 0 scans from this
// function's caller. With a `baseline`, only blocks not in it are counted. Must run
// with the recursion guard held. Returns false (and leaves
// *out empty) when scratch memory could not be mapped; the report then says
// "unclassified".
bool ClassifyLeaks(Recorder& recorder, uintptr_t stack_top, LeakClassification* out,
                   const LeakBaseline* baseline = nullptr);

// Returns the scratch memory of a classification.
void ReleaseLeakClassification(LeakClassification* c);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_LEAKS_LEAK_CLASSIFIER_H_
