// dlopen_storm.c: two threads each dlopen, call and dlclose a leaking library
// (libstress_storm_plugin.so, in ../lib) 100 times while the main thread allocates and
// frees; with the argument "deepbind" the loads use RTLD_DEEPBIND. 200 leaks of 4242
// bytes, each in a library unloaded since.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 100

static char g_path[PATH_MAX + 64];
static int g_flags = RTLD_NOW | RTLD_LOCAL;
static volatile int g_stop;

static void* Storm(void* arg) {
  (void)arg;
  long sum = 0;
  for (int i = 0; i < ROUNDS; ++i) {
    void* h = dlopen(g_path, g_flags);
    if (h == NULL) return (void*)1;
    void (*leak)(void) = (void (*)(void))dlsym(h, "storm_leak");
    int (*roundtrip)(int) = (int (*)(int))dlsym(h, "storm_roundtrip");
    leak();
    sum += roundtrip(20);
    dlclose(h);
  }
  return sum == ROUNDS * 190 ? NULL : (void*)2;
}

int main(int argc, char** argv) {
  char exe[PATH_MAX] = {0};
  if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0) return 2;
  snprintf(g_path, sizeof(g_path), "%s/../lib/libstress_storm_plugin.so", dirname(exe));
  if (argc > 1 && strcmp(argv[1], "deepbind") == 0) g_flags |= RTLD_DEEPBIND;
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, Storm, NULL);
  void* results[2];
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], &results[i]);
  for (int i = 0; i < 1000; ++i) free(malloc(64 + (size_t)i));
  printf("storm: %s\n", results[0] == NULL && results[1] == NULL ? "ok" : "failed");
  return 0;
}
