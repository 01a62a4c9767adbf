/* fake_python.c: a program that looks like a CPython heapwarden must refuse, and
 * allocates; heapwarden must print one warning line and keep native stacks. Linked
 * with -rdynamic so that dlsym(RTLD_DEFAULT) finds its symbols, as it finds a real
 * interpreter's.
 *  - FAKE_FREE_THREADED_313 undefined: Py_Version 3.99, a version with no table.
 *  - defined: a 3.13 whose _Py_DebugOffsets say free_threaded = 1 (a free-threaded
 *    build: another object layout), with the other symbols heapwarden reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_FREE_THREADED_313
unsigned char _PyRuntime[4096];
const unsigned long Py_Version = 0x036300f0; /* 3.99.0 final */
#else
struct {
  char cookie[8];
  uint64_t version;
  uint64_t free_threaded;
  unsigned char rest[4096];
} _PyRuntime = {{'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y'}, 0x030d00f0, 1, {0}};
const unsigned long Py_Version = 0x030d00f0; /* 3.13.0 final */
unsigned char PyCode_Type[512];
unsigned char PyUnicode_Type[512];
unsigned char PyBytes_Type[512];
__attribute__((noinline)) void* _PyEval_EvalFrameDefault(void* tstate, void* frame, int throwflag) {
  return throwflag ? tstate : frame;
}
#endif

__attribute__((noinline)) static void* fake_allocate(size_t n) {
  void* p = malloc(n);
  if (p != NULL) memset(p, 1, n);
  return p;
}

int main(void) {
  void* p = fake_allocate(777001);
  printf("fake python %d\n", p != NULL);
  free(p);
  return 0;
}
