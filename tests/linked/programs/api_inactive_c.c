/* api_inactive_c.c: the C API from a C program built with the header only, run without
 * heapwarden: every call answers "inactive" and the program runs on. Prints
 * "api NAME VALUE" lines. */
#include <stdio.h>

#include "heapwarden/heapwarden.h"

int main(void) {
  struct heapwarden_stats stats;
  uint64_t live = 1, peak = 1;
  heapwarden_tag_push("c");
  heapwarden_tag_pop();
  printf("api active %d\n", heapwarden_active());
  printf("api start %d\n", heapwarden_start(NULL));
  printf("api stats %d\n", heapwarden_stats(&stats));
  int found = heapwarden_tag_stats("c", &live, &peak);
  printf("api tag_stats %d %llu %llu\n", found, (unsigned long long)live,
         (unsigned long long)peak);
  printf("api trim.ok %d\n", heapwarden_trim().ok);
  printf("api snapshot %d\n", heapwarden_snapshot("/tmp/never.json"));
  return 0;
}
