// mmap_override.h: what lifecycle.cc needs from mmap_override.cc.
// Preload side.
#ifndef HEAPWARDEN_PRELOAD_MMAP_OVERRIDE_H_
#define HEAPWARDEN_PRELOAD_MMAP_OVERRIDE_H_

namespace heapwarden::internal {

// Finds the preload's own code range (its mmap calls are never the program's) and
// sets up the mapped-region table. Call once from the constructor, after the
// recorder's Init, with the recursion guard held.
void InitMmapOverride();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_PRELOAD_MMAP_OVERRIDE_H_
