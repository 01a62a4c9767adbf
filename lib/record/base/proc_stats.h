// proc_stats.h: the process's resident memory, read from /proc with read(2).
// Service thread, report time and exit: no stdio, no allocation; safe on the timeline thread and at exit.
#ifndef HEAPWARDEN_LIB_RECORD_BASE_PROC_STATS_H_
#define HEAPWARDEN_LIB_RECORD_BASE_PROC_STATS_H_

#include <cstddef>
#include <cstdint>

namespace heapwarden::internal {

// Resident set size now, in bytes (0 if /proc is unreadable).
uint64_t ReadRssBytes();

// High-water mark of the resident set (VmHWM), in bytes.
uint64_t ReadPeakRssBytes();

// Threads of the process now that have not exited (num_threads of /proc/self/stat
// counts a main thread that exited before the others, as a zombie); 0 if unreadable.
int ReadLiveThreadCount();

// Reads a whole small file into buf (NUL-terminated); returns its length or -1.
long ReadSmallFile(const char* path, char* buf, size_t size);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_BASE_PROC_STATS_H_
