// leaks_known.cc: ground truth for leak reports. Each leak_* function leaks exactly one
// block of a distinctive size through one allocation API; every other allocation is freed.
//
//   leak_malloc          malloc(1337)                                       1337
//   leak_calloc          calloc(7, 1001)                                    7007
//   leak_realloc         malloc(100) then realloc(p, 4099): the realloc call 4099
//   leak_new             new Struct2024                                     2024
//   leak_new_array       new char[3001]                                     3001
//   leak_aligned_new     new Aligned640 (alignas(64), 640 bytes)            640
//   leak_posix_memalign  posix_memalign(&p, 128, 5003)                      5003
//   leak_strdup          strdup of a 29-character string                    30
//   leak_thread          malloc(6007) on a second thread                    6007
//   leak_plugin          libhw_test_plugin.so's plugin_leak_inner: 7001, then dlclose
//
// free_known allocates and frees blocks of 4111 and 9999 bytes (and others): those sizes
// must appear in no leak. Each allocation call carries a "SITE:name" comment: the tests
// read this file to learn the line a report must attribute the leak to.
//
// Usage: leaks_known [PLUGIN_PATH]   (default: the path CMake compiled in)
// Exit status 0; 2 when the plugin cannot be loaded or stays loaded after dlclose.

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "escape.h"

#ifndef HW_TEST_PLUGIN_PATH
#define HW_TEST_PLUGIN_PATH "libhw_test_plugin.so"
#endif

struct Struct2024 {
  char data[2024];
};
static_assert(sizeof(Struct2024) == 2024);

struct alignas(64) Aligned640 {
  char data[640];
};
static_assert(sizeof(Aligned640) == 640);

HW_NOINLINE void leak_malloc() {
  void *p = malloc(1337);  // SITE:leak_malloc
  Escape(p);
}

HW_NOINLINE void leak_calloc() {
  void *p = calloc(7, 1001);  // SITE:leak_calloc
  Escape(p);
}

HW_NOINLINE void leak_realloc() {
  void *p = malloc(100);
  Escape(p);
  void *q = realloc(p, 4099);  // SITE:leak_realloc
  Escape(q);
}

HW_NOINLINE void leak_new() {
  auto *p = new Struct2024;  // SITE:leak_new
  Escape(p);
}

HW_NOINLINE void leak_new_array() {
  char *p = new char[3001];  // SITE:leak_new_array
  Escape(p);
}

HW_NOINLINE void leak_aligned_new() {
  auto *p = new Aligned640;  // SITE:leak_aligned_new
  Escape(p);
}

HW_NOINLINE void leak_posix_memalign() {
  void *p = nullptr;
  if (posix_memalign(&p, 128, 5003) != 0) {  // SITE:leak_posix_memalign
    std::fprintf(stderr, "leaks_known: posix_memalign failed\n");
    std::exit(2);
  }
  Escape(p);
}

HW_NOINLINE void leak_strdup() {
  static const char kText[] = "strdup leaks these 29 chars..";
  static_assert(sizeof(kText) == 29 + 1);
  // Copied through an escaped buffer so the compiler cannot turn strdup of a known
  // string into malloc+memcpy: the report must show a real strdup from libc.
  char source[sizeof kText];
  std::memcpy(source, kText, sizeof kText);
  Escape(source);
  char *p = strdup(source);  // SITE:leak_strdup
  Escape(p);
}

HW_NOINLINE void *leak_thread(void *) {
  void *p = malloc(6007);  // SITE:leak_thread
  Escape(p);
  return nullptr;
}

HW_NOINLINE void run_leak_thread() {
  pthread_t thread;
  if (pthread_create(&thread, nullptr, leak_thread, nullptr) != 0 ||
      pthread_join(thread, nullptr) != 0) {
    std::fprintf(stderr, "leaks_known: thread failed\n");
    std::exit(2);
  }
}

HW_NOINLINE void leak_plugin(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "leaks_known: dlopen %s: %s\n", path, dlerror());
    std::exit(2);
  }
  auto plugin_leak = reinterpret_cast<void (*)()>(dlsym(handle, "plugin_leak"));
  if (plugin_leak == nullptr) {
    std::fprintf(stderr, "leaks_known: dlsym plugin_leak: %s\n", dlerror());
    std::exit(2);
  }
  plugin_leak();
  dlclose(handle);
  // The plugin must really be gone, or the test would not prove that a dlclosed
  // module's frames are still symbolized.
  if (void *still = dlopen(path, RTLD_NOW | RTLD_NOLOAD); still != nullptr) {
    std::fprintf(stderr, "leaks_known: %s still loaded after dlclose\n", path);
    std::exit(2);
  }
}

// Freed on purpose: 4111 and 9999 must appear in no leak.
HW_NOINLINE long free_known() {
  long sum = 0;
  for (int i = 0; i < 50; ++i) {
    void *a = malloc(4111);
    Escape(a);
    char *b = new char[9999];
    Escape(b);
    void *c = calloc(3, 333 + i);
    Escape(c);
    void *d = realloc(nullptr, 64 + i);
    Escape(d);
    d = realloc(d, 2000 + i);
    Escape(d);
    auto *s = new Struct2024;
    Escape(s);
    sum += static_cast<long>(reinterpret_cast<unsigned long>(a) & 1);
    delete s;
    free(d);
    free(c);
    delete[] b;
    free(a);
  }
  return sum;
}

int main(int argc, char **argv) {
  const char *plugin_path = argc > 1 ? argv[1] : HW_TEST_PLUGIN_PATH;
  long freed = free_known();
  leak_malloc();
  leak_calloc();
  leak_realloc();
  leak_new();
  leak_new_array();
  leak_aligned_new();
  leak_posix_memalign();
  leak_strdup();
  run_leak_thread();
  leak_plugin(plugin_path);
  freed += free_known();
  std::printf("leaks_known: 10 leaks, %ld\n", freed);
  return 0;
}
