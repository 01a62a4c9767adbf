// report_heap.cc: see report_heap.h. Report side.
#include "report/report_heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace heapwarden::report {

void PrepareHeapForReport(size_t report_bytes) {
  constexpr size_t kMiB = size_t{1} << 20;
  constexpr uintptr_t kHugePage = 2 * kMiB;
  static bool prepared = false;
  if (report_bytes < kMiB || prepared) return;
  prepared = true;
  const size_t reserve = std::clamp(report_bytes * 16, 64 * kMiB, 1024 * kMiB);
  // Linux's brk extends a heap that carries MADV_HUGEPAGE with a new mapping without
  // it: the region must exist before the advice. So the heap grows by all of
  // `reserve` at its next growth (M_TOP_PAD), and is never trimmed back below it.
  // The growth padding then returns to glibc's default (128 KiB), so a heap that
  // outgrows the reserve is not padded by a gigabyte each time.
  const uintptr_t before = reinterpret_cast<uintptr_t>(sbrk(0));
  if (before == static_cast<uintptr_t>(-1)) return;
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, static_cast<int>(reserve));
  // Blocks below the mmap threshold come from the heap; the first that does not fit
  // in its free top makes it grow.
  constexpr size_t kProbe = 64 << 10;
  void* probes[64];
  int count = 0;
  while (count < 64 && reinterpret_cast<uintptr_t>(sbrk(0)) == before) {
    probes[count] = std::malloc(kProbe);
    if (probes[count] == nullptr) break;
    ++count;
  }
  const uintptr_t after = reinterpret_cast<uintptr_t>(sbrk(0));
  for (int i = 0; i < count; ++i) std::free(probes[i]);
  mallopt(M_TOP_PAD, 128 << 10);
  const uintptr_t start = (before + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = after & ~(kHugePage - 1);
  if (after == static_cast<uintptr_t>(-1) || end <= start) return;
  madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

void PrepareHeapForReportFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    PrepareHeapForReport(static_cast<size_t>(st.st_size));
  }
}

void KeepUntilExit(nlohmann::json&& report) {
  static nlohmann::json* kept = new nlohmann::json();
  *kept = std::move(report);
}

}  // namespace heapwarden::report
