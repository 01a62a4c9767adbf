// free_errors.cc: ground truth for the report's "errors". One bad call per mode, made
// from a function named after it; the program's fate afterwards is glibc's (it aborts
// on a double free or an invalid pointer, and lets a mismatched pair pass).
//
//   free_errors double_free     bad_double_free frees a malloc(4321) block twice; the
//                               first free is in first_free
//   free_errors invalid_stack   bad_free_stack frees the address of a local array
//   free_errors invalid_global  bad_free_global frees the address of a global array
//   free_errors new_array_delete  bad_delete: new char[777], released with delete
//   free_errors new_free        bad_free_of_new: new Box, released with free()
//   free_errors malloc_delete   bad_delete_of_malloc: malloc(555), released with delete
//   free_errors clean           every pair matched, nothing bad
//
// Exit status 0 when the program survives its bad call; glibc's abort (SIGABRT)
// otherwise.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "escape.h"

struct Box {
  char data[96];
};

char g_not_heap[256];

// NoTailCall() after each free keeps the calling function on the stack: a tail call
// would replace its frame with free's.
static inline void NoTailCall() { __asm__ volatile("" ::: "memory"); }

HW_NOINLINE void first_free(void* p) {
  std::free(p);  // SITE:first_free
  NoTailCall();
}

HW_NOINLINE void bad_double_free() {
  void* p = std::malloc(4321);
  Escape(p);
  first_free(p);
  std::free(p);  // SITE:bad_double_free
  NoTailCall();
}

HW_NOINLINE void bad_free_stack() {
  // Zeroed, and freed 16 bytes in: what glibc reads as the chunk header is defined,
  // so its verdict ("free(): invalid pointer") does not depend on stack garbage left
  // by earlier calls, which differs with and without heapwarden.
  alignas(16) char local[64] = {};
  Escape(local);
  std::free(local + 16);  // SITE:bad_free_stack
  NoTailCall();
}

HW_NOINLINE void bad_free_global() {
  Escape(g_not_heap);
  std::free(g_not_heap + 16);  // SITE:bad_free_global
  NoTailCall();
}

HW_NOINLINE void bad_delete() {
  char* p = new char[777];
  Escape(p);
  delete reinterpret_cast<Box*>(p);  // SITE:bad_delete
  NoTailCall();
}

HW_NOINLINE void bad_free_of_new() {
  Box* b = new Box;
  Escape(b);
  std::free(b);  // SITE:bad_free_of_new
  NoTailCall();
}

HW_NOINLINE void bad_delete_of_malloc() {
  Box* b = static_cast<Box*>(std::malloc(555));
  Escape(b);
  delete b;  // SITE:bad_delete_of_malloc
  NoTailCall();
}

HW_NOINLINE void clean() {
  for (int i = 0; i < 50; ++i) {
    void* p = std::malloc(100 + i);
    Escape(p);
    std::free(p);
    Box* b = new Box;
    Escape(b);
    delete b;
    char* a = new char[10 + i];
    Escape(a);
    delete[] a;
    void* q = std::realloc(nullptr, 40);
    Escape(q);
    q = std::realloc(q, 4000);
    Escape(q);
    std::free(q);
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: free_errors MODE\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  const char* mode = argv[1];
  std::printf("free_errors %s: start\n", mode);
  if (std::strcmp(mode, "double_free") == 0) {
    bad_double_free();
  } else if (std::strcmp(mode, "invalid_stack") == 0) {
    bad_free_stack();
  } else if (std::strcmp(mode, "invalid_global") == 0) {
    bad_free_global();
  } else if (std::strcmp(mode, "new_array_delete") == 0) {
    bad_delete();
  } else if (std::strcmp(mode, "new_free") == 0) {
    bad_free_of_new();
  } else if (std::strcmp(mode, "malloc_delete") == 0) {
    bad_delete_of_malloc();
  } else if (std::strcmp(mode, "clean") == 0) {
    clean();
  } else {
    std::fprintf(stderr, "free_errors: unknown mode %s\n", mode);
    return 2;
  }
  std::printf("free_errors %s: survived\n", mode);
  return 0;
}
