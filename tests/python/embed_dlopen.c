/* embed_dlopen.c: a C program that loads libpython with dlopen after it started (no
 * link to it), as plugin hosts do, then runs Python code that allocates on known
 * lines. `embed_dlopen global|local LIBPYTHON`: the library is opened RTLD_GLOBAL or
 * RTLD_LOCAL. Python's API is reached through dlsym only. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*InitFn)(void);
typedef int (*RunFn)(const char*, void*);
typedef int (*FinalizeFn)(void);

static const char kCode[] =
    "keep = []\n"
    "def loaded_late():\n"
    "    keep.append(bytearray(1000011))\n"
    "loaded_late()\n";

int main(int argc, char** argv) {
  if (argc != 3 || (strcmp(argv[1], "global") != 0 && strcmp(argv[1], "local") != 0)) {
    fprintf(stderr, "usage: embed_dlopen global|local LIBPYTHON\n");
    return 2;
  }
  /* Allocations before the interpreter exists: native stacks. */
  char* before = malloc(2000011);
  if (before == NULL) return 1;
  memset(before, 1, 2000011);
  void* lib = dlopen(argv[2], RTLD_NOW | (strcmp(argv[1], "global") == 0 ? RTLD_GLOBAL : RTLD_LOCAL));
  if (lib == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  InitFn initialize = (InitFn)dlsym(lib, "Py_Initialize");
  RunFn run = (RunFn)dlsym(lib, "PyRun_SimpleStringFlags");
  FinalizeFn finalize = (FinalizeFn)dlsym(lib, "Py_FinalizeEx");
  if (initialize == NULL || run == NULL || finalize == NULL) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  initialize();
  int failed = run(kCode, NULL);
  if (finalize() != 0) failed = 1;
  printf("loaded late %s %d\n", argv[1], before[2000010]);
  free(before);
  return failed;
}
