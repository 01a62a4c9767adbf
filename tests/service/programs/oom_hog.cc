// oom_hog.cc: grows its memory from fill_memory until something kills it.
//   usage: oom_hog CGROUP_DIR|- PID_FILE [MAX_MIB]
// With a cgroup directory, first moves itself into it (writes its pid to
// cgroup.procs) and waits 1.5 s so heapwarden's high-water check reads the new limit
// (it re-reads it every second); then allocates and touches 1 MiB every 10 ms. With
// "-", allocates up to MAX_MIB (default 48) and then waits to be killed, after writing
// its pid to PID_FILE.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "../../programs/escape.h"

namespace {

constexpr size_t kStep = 1 << 20;

HW_NOINLINE void* fill_memory() {
  void* p = malloc(kStep);
  if (p != nullptr) memset(p, 0x5a, kStep);  // touch it: RSS, not just address space
  Escape(p);
  return p;
}

void WritePid(const char* path) {
  FILE* f = std::fopen(path, "w");
  if (f == nullptr) return;
  std::fprintf(f, "%d\n", static_cast<int>(getpid()));
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string cgroup = argv[1];
  int max_mib = argc > 3 ? std::atoi(argv[3]) : 48;
  if (cgroup != "-") {
    FILE* procs = std::fopen((cgroup + "/cgroup.procs").c_str(), "w");
    if (procs == nullptr) return 4;
    std::fprintf(procs, "%d\n", static_cast<int>(getpid()));
    if (std::fclose(procs) != 0) return 5;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    WritePid(argv[2]);
    for (;;) {
      fill_memory();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  for (int i = 0; i < max_mib; ++i) fill_memory();
  WritePid(argv[2]);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
