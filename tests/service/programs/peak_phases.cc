// peak_phases.cc: a 64 MiB structure built in one function and freed, then a smaller
// phase (16 MiB) from another function; each phase holds its memory a while so the
// timeline sees the rise and the fall.
// Expected: at the peak, exactly 1024 blocks and 67108864 bytes under build_structure; the timeline rises
// to ~64 MiB, falls, and shows the 16 MiB phase.
#include <cstdlib>
#include <cstring>
#include <thread>

#include "../../programs/escape.h"

namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr int kBigChunks = 1024;   // 64 MiB
constexpr int kSmallChunks = 256;  // 16 MiB

struct Node {
  Node* next;
  char payload[kChunk - sizeof(Node*)];
};

void Hold(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

HW_NOINLINE Node* build_structure() {
  Node* head = nullptr;
  for (int i = 0; i < kBigChunks; ++i) {
    Node* n = static_cast<Node*>(malloc(sizeof(Node)));
    memset(n->payload, i & 0xff, 64);
    n->next = head;
    head = n;
  }
  Escape(head);
  return head;
}

HW_NOINLINE void free_structure(Node* head) {
  while (head != nullptr) {
    Node* next = head->next;
    free(head);
    head = next;
  }
}

HW_NOINLINE void small_phase() {
  void* blocks[kSmallChunks];
  for (int i = 0; i < kSmallChunks; ++i) {
    blocks[i] = malloc(kChunk);
    memset(blocks[i], 1, 64);
    Escape(blocks[i]);
  }
  Hold(400);
  for (void* b : blocks) free(b);
}

}  // namespace

int main() {
  Hold(200);
  Node* big = build_structure();
  Hold(400);
  free_structure(big);
  Hold(300);
  small_phase();
  Hold(200);
  return 0;
}
