// fork_from_thread.c: a thread forks; in the child that thread returns, so it is the
// child's last thread and glibc ends the process with exit(0).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void* worker(void* arg) {
  (void)arg;
  void* p = malloc(1337);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child\n");
    fflush(stdout);
    free(p);
    return NULL;  /* last thread of the child: glibc calls exit(0) */
  }
  int status;
  waitpid(pid, &status, 0);
  printf("parent saw %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  free(p);
  return NULL;
}
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  return 0;
}
