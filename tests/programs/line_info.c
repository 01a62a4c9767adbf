// line_info.c: one leak through an inlined helper, for checking function, file and line
// in the report against llvm-symbolizer on builds by different compilers
// (tests/lineinfo: clang -g -O1, clang -gline-tables-only -O1, gcc -g -O1). clang emits
// no .debug_aranges, gcc does; _start (crt1.o, no debug information) sits in the same
// executable and must get no line at all.
#include <stdlib.h>

#include "escape.h"

static inline __attribute__((always_inline)) char *FillBlock(size_t n) {
  char *p = malloc(n);  // SITE:fill
  for (size_t i = 0; i < n; i += 64) p[i] = (char)i;
  return p;
}

HW_NOINLINE char *leak_line_info(size_t n) {
  char *p = FillBlock(n);  // SITE:call
  Escape(p);
  return p;
}

int main(void) {
  char *p = leak_line_info(1337);
  Escape(p);
  return p[64] == 64 ? 0 : 1;
}
