// hold_and_churn.cc: holds an 8 MiB buffer (from hold_buffer) while churning small
// blocks, until the file named by argv[2] exists (or 60 s pass). Writes its pid to
// argv[1] once the buffer is held.
//   usage: hold_and_churn PID_FILE STOP_FILE
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "../../programs/escape.h"

namespace {

HW_NOINLINE char* hold_buffer() {
  char* p = static_cast<char*>(malloc(8 << 20));
  memset(p, 7, 8 << 20);
  Escape(p);
  return p;
}

HW_NOINLINE void churn_once() {
  void* blocks[64];
  for (int i = 0; i < 64; ++i) {
    blocks[i] = malloc(64 + i * 16);
    Escape(blocks[i]);
  }
  for (void* b : blocks) free(b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  char* held = hold_buffer();
  FILE* f = std::fopen(argv[1], "w");
  if (f == nullptr) return 3;
  std::fprintf(f, "%d\n", static_cast<int>(getpid()));
  std::fclose(f);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (access(argv[2], F_OK) != 0 && std::chrono::steady_clock::now() < deadline) {
    churn_once();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  free(held);
  return 0;
}
