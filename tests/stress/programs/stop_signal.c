// stop_signal.c PID_FILE: holds a 31337-byte block, writes its pid to PID_FILE, prints
// "ready" and waits (at most 20 s) for a signal to end it. SIGINT and SIGTERM are set
// to their defaults first: a shell starts background jobs with SIGINT ignored.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void* volatile g_held;

__attribute__((noinline)) static void HoldBlock(void) {
  g_held = malloc(31337);
  memset(g_held, 1, 31337);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  HoldBlock();
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
  FILE* f = fopen(tmp, "w");
  if (f == NULL) return 1;
  fprintf(f, "%d\n", (int)getpid());
  fclose(f);
  rename(tmp, argv[1]);
  puts("ready");
  fflush(stdout);
  for (int i = 0; i < 200; ++i) usleep(100 * 1000);
  puts("not signalled");
  return 0;
}
