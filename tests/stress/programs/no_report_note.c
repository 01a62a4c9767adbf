// no_report_note.c: stands in for a program whose final report heapwarden could not
// write (out of address space): it writes the note the preload would leave next to
// its report path (output=... in HEAPWARDEN_OPTIONS, %p expanded) and ends with the
// raw exit_group system call, so the preload writes nothing. Plain, it just exits.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  const char* options = getenv("HEAPWARDEN_OPTIONS");
  const char* output = options ? strstr(options, "output=") : NULL;
  if (output != NULL) {
    char path[4096];
    size_t n = 0;
    for (const char* p = output + 7; *p != '\0' && *p != ':' && n + 32 < sizeof(path); ++p) {
      if (p[0] == '%' && p[1] == 'p') {
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%d", (int)getpid());
        ++p;
      } else {
        path[n++] = *p;
      }
    }
    snprintf(path + n, sizeof(path) - n, ".noreport");
    FILE* f = fopen(path, "w");
    if (f != NULL) {
      fputs("heapwarden could not write its report (errno 12: out of memory or address space)\n", f);
      fclose(f);
    }
  }
  fflush(stdout);
  syscall(SYS_exit_group, 0);
  return 0;
}
