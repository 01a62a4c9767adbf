// exit_from_thread.c: a non-main thread calls exit(5) while main waits in join and
// another thread allocates.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void* Busy(void* arg) {
  (void)arg;
  for (;;) free(malloc(128));
  return NULL;
}

static void* Exiter(void* arg) {
  (void)arg;
  usleep(20000);
  printf("exiting from a thread\n");
  exit(5);
}

int main(void) {
  pthread_t busy, exiter;
  pthread_create(&busy, NULL, Busy, NULL);
  pthread_create(&exiter, NULL, Exiter, NULL);
  pthread_join(exiter, NULL);
  return 0;
}
