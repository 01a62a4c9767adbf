// oom_hog.cc: grows its memory from fill_memory until something kills it.
//   usage: oom_hog CGROUP_DIR|- PID_FILE [MAX_MIB]
// With a cgroup directory, first moves itself into it (writes its pid to
// cgroup.procs) and waits until heapwarden's high-water check has read the new limit
// (it re-reads it every second; a snapshot shows it, at most 30 s); then allocates and
// touches 1 MiB every 10 ms. With
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
#include "heapwarden/heapwarden.h"

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

// The first number in `path` after `key`, or -1.
long long NumberAfter(const std::string& path, const char* key) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  const size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + std::strlen(key));
}

// Polls heapwarden's snapshots until the memory limit they show is the cgroup's.
void WaitUntilHeapwardenSeesTheLimit(const std::string& cgroup, const std::string& snapshot) {
  long long limit = NumberAfter(cgroup + "/memory.max", "");
  if (limit <= 0) limit = NumberAfter(cgroup + "/memory.limit_in_bytes", "");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (limit > 0 && std::chrono::steady_clock::now() < deadline) {
    if (heapwarden_snapshot(snapshot.c_str()) != 0) return;  // not under heapwarden
    if (NumberAfter(snapshot, "\"memory_limit_bytes\":") == limit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::remove(snapshot.c_str());
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
    WaitUntilHeapwardenSeesTheLimit(cgroup, std::string(argv[2]) + ".limit.json");
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
