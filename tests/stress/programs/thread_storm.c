// thread_storm.c: 16 threads allocate and free across threads (each frees what its
// neighbour allocated), then waves of short-lived threads are created and exit, and
// detached threads are still allocating when main returns.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define kThreads 16
#define kSlots 256

static void* _Atomic g_slots[kThreads][kSlots];

static void* CrossWorker(void* arg) {
  int self = (int)(long)arg;
  int next = (self + 1) % kThreads;
  for (int i = 0; i < 20000; ++i) {
    void* mine = malloc((size_t)(16 + (i * 7) % 2000));
    memset(mine, self, 16);
    free(atomic_exchange(&g_slots[self][i % kSlots], mine));
    free(atomic_exchange(&g_slots[next][(i * 3) % kSlots], NULL));
  }
  return NULL;
}

static void* ShortLived(void* arg) {
  (void)arg;
  free(malloc(100));
  return NULL;
}

static void* Forever(void* arg) {
  (void)arg;
  for (;;) {
    free(malloc(64));
    usleep(100);
  }
  return NULL;
}

int main(void) {
  pthread_t threads[kThreads];
  for (long i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, CrossWorker, (void*)i);
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < kThreads; ++i) {
    for (int j = 0; j < kSlots; ++j) free(atomic_exchange(&g_slots[i][j], NULL));
  }
  for (int wave = 0; wave < 100; ++wave) {
    pthread_t t[8];
    for (int i = 0; i < 8; ++i) pthread_create(&t[i], NULL, ShortLived, NULL);
    for (int i = 0; i < 8; ++i) pthread_join(t[i], NULL);
  }
  pthread_attr_t detached;
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < 4; ++i) {
    pthread_t t;
    pthread_create(&t, &detached, Forever, NULL);
  }
  usleep(10000);
  printf("done\n");
  return 0;
}
