// leak_and_print.c: prints a line (buffered when stdout is a pipe) and leaks 4242 bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  static char* volatile sink;
  char* p = malloc(4242);
  memset(p, 7, 4242);
  sink = p;
  sink = NULL;  // no pointer left: a direct leak
  printf("program output\n");
  return 0;
}
