// deepbind.c: dlopens libstress_deepbind_plugin.so (next to this program's directory,
// in ../lib) with RTLD_DEEPBIND, hands it a 448-byte block to free, and lets it leak
// 63,020 bytes. Plain: prints and exits 0. Tracked: the leak must be found (or the
// report must say it could not be), and the 448 bytes must not be reported leaked.
// With the argument "bare", dlopens it by its bare name, found through this program's
// DT_RUNPATH ($ORIGIN/../lib): a dlopen wrapper that became the caller would not.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char exe[PATH_MAX] = {0};
  if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0) return 2;
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/../lib/libstress_deepbind_plugin.so", dirname(exe));
  if (argc > 1 && strcmp(argv[1], "bare") == 0) snprintf(path, sizeof(path), "libstress_deepbind_plugin.so");
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (h == NULL) {
    printf("dlopen: %s\n", dlerror());
    return 2;
  }
  void (*leak)(void) = (void (*)(void))dlsym(h, "plugin_leak");
  void (*plugin_free)(void*) = (void (*)(void*))dlsym(h, "plugin_free");
  int (*roundtrip)(void) = (int (*)(void))dlsym(h, "plugin_roundtrip");
  char* block = malloc(448);
  memset(block, 7, 448);
  plugin_free(block);
  leak();
  printf("roundtrip %d\n", roundtrip());
  puts("done");
  return 0;
}
