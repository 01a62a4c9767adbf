// crash_early.c: dies by a fatal signal at once, before any periodic snapshot:
// "segv" dereferences NULL, "abort" calls abort(), "handled" installs its own SIGSEGV
// handler (which prints and exits 3) before it faults.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void OwnHandler(int sig) {
  (void)sig;
  static const char kLine[] = "own handler ran\n";
  (void)!write(1, kLine, sizeof(kLine) - 1);
  _exit(3);
}

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "segv";
  static char* volatile kept;
  kept = malloc(31337);  // live at the crash: the report must show it
  printf("before the crash\n");
  fflush(stdout);
  if (strcmp(how, "abort") == 0) abort();
  if (strcmp(how, "handled") == 0) signal(SIGSEGV, OwnHandler);
  volatile int* null = NULL;
  return *null;
}
