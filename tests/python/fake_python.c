/* fake_python.c: a program that looks like a CPython heapwarden does not know (the two
 * symbols it first looks for, with Py_Version 3.99), and allocates. heapwarden must
 * print one warning line and keep native stacks. Linked with -rdynamic so that
 * dlsym(RTLD_DEFAULT) finds the symbols, as it finds a real interpreter's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char _PyRuntime[4096];
const unsigned long Py_Version = 0x036300f0; /* 3.99.0 final */

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
