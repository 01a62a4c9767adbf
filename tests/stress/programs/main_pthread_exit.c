// main_pthread_exit.c: main ends with pthread_exit; the process ends (exit(0)) when
// the worker, its last thread, returns.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void* worker(void* arg) { (void)arg; usleep(100000); printf("worker done\n"); return NULL; }
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_exit(NULL);
}
