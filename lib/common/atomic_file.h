// atomic_file.h: replace a file so that no reader ever sees half of it.
// Shared by both sides: plain system calls, no allocation, no stdio, so the record side
// can call it from inside the tracked process and the report side from the tool.
#ifndef HEAPWARDEN_LIB_COMMON_ATOMIC_FILE_H_
#define HEAPWARDEN_LIB_COMMON_ATOMIC_FILE_H_

#include <cstddef>

namespace heapwarden {

// WriteFileAtomically()
//
// Writes `size` bytes to "PATH.tmp.<pid>", created with O_CREAT|O_EXCL|O_NOFOLLOW and
// mode 0600, then renames it over `path`: a symbolic link at `path` is replaced, never
// followed, and a reader sees the old file or the new one. Both steps are relative to
// one descriptor of the directory, so the file lands where the checks below looked.
// A directory inside a directory that other users may write in (/tmp) could have been
// created, or re-created after its owner removed it, by any of them: there it must be
// a real directory (a symbolic link is not followed) owned by this user or root, else
// EPERM. A temporary file left by a process that died mid-write (pids are reused) is
// removed and the write tried once more. On failure the temporary file is removed.
// A character device or a FIFO at `path` (/dev/null), or a symbolic link to one outside
// a world-writable directory (/dev/stdout), is written into instead of replaced, not
// atomically (a FIFO without a reader: ENXIO); a socket or block device is refused
// (EINVAL). Returns 0 or an errno value.
int WriteFileAtomically(const char* path, const char* data, size_t size);

}  // namespace heapwarden

#endif  // HEAPWARDEN_LIB_COMMON_ATOMIC_FILE_H_
