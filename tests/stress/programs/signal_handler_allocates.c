// signal_handler_allocates.c: a signal handler that replaces a buffer (free, then
// malloc), as one that reloads a configuration does, while its thread allocates; the
// signal often lands inside malloc or free. Not async-signal-safe in theory; in
// practice glibc serves the handler from the thread's cache without a lock, as here:
// the handler's size class is one the worker never uses, and its cache is filled
// first, so plain this program always finishes.
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define kThreads 4
#define kHandlerSize 40

static char* volatile g_buffers[kThreads];
static pthread_key_t g_index;
static atomic_int g_running;

static void Reload(int sig) {
  (void)sig;
  int i = (int)(intptr_t)pthread_getspecific(g_index) - 1;
  if (i < 0) return;
  free(g_buffers[i]);
  g_buffers[i] = malloc(kHandlerSize);
  if (g_buffers[i] != NULL) memset(g_buffers[i], 1, kHandlerSize);
}

static void* Worker(void* arg) {
  void* kept[64] = {0};
  for (int i = 0; i < 7; ++i) kept[i] = malloc(kHandlerSize);
  for (int i = 0; i < 7; ++i) {
    free(kept[i]);
    kept[i] = NULL;
  }
  pthread_setspecific(g_index, arg);
  for (int i = 0; i < 400000; ++i) {
    int slot = i % 64;
    free(kept[slot]);
    kept[slot] = malloc((size_t)(200 + i % 512));
  }
  for (int i = 0; i < 64; ++i) free(kept[i]);
  pthread_setspecific(g_index, NULL);
  atomic_fetch_sub(&g_running, 1);
  return NULL;
}

int main(void) {
  pthread_key_create(&g_index, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = Reload;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t threads[kThreads];
  atomic_store(&g_running, kThreads);
  for (intptr_t i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, Worker, (void*)(i + 1));
  // Signals aimed at the workers while they run; none after a worker is done.
  while (atomic_load(&g_running) == kThreads) {
    for (int i = 0; i < kThreads; ++i) pthread_kill(threads[i], SIGUSR1);
    usleep(50);
  }
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < kThreads; ++i) free(g_buffers[i]);
  printf("done\n");
  return 0;
}
