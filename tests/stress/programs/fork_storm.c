// fork_storm.c: 4 threads each fork 10 children while 2 others allocate; each child
// allocates, prints nothing and exits from its thread (some with exit, some by
// returning, some with _exit). Then vfork+exec, posix_spawn and a double-fork daemon.
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
static atomic_int g_stop;
static atomic_int g_bad;

static void* Allocator(void* arg) {
  (void)arg;
  while (!atomic_load(&g_stop)) free(malloc(256));
  return NULL;
}

static void* Forker(void* arg) {
  long id = (long)arg;
  for (int i = 0; i < 10; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      free(malloc(1000));
      if (i % 3 == 0) exit(7);
      if (i % 3 == 1) _exit(7);
      return (void*)7;  // the child's last thread returns: exit(0)
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) atomic_fetch_add(&g_bad, 1);
    int want = i % 3 == 2 ? 0 : 7;
    if (WEXITSTATUS(status) != want) atomic_fetch_add(&g_bad, 1);
  }
  (void)id;
  return NULL;
}

int main(void) {
  pthread_t alloc[2], forkers[4];
  for (int i = 0; i < 2; ++i) pthread_create(&alloc[i], NULL, Allocator, NULL);
  for (long i = 0; i < 4; ++i) pthread_create(&forkers[i], NULL, Forker, (void*)i);
  for (int i = 0; i < 4; ++i) pthread_join(forkers[i], NULL);
  atomic_store(&g_stop, 1);
  for (int i = 0; i < 2; ++i) pthread_join(alloc[i], NULL);
  printf("fork from threads: %d bad\n", atomic_load(&g_bad));
  fflush(stdout);

  pid_t v = vfork();
  if (v == 0) {
    execl("/bin/true", "true", (char*)NULL);
    _exit(127);
  }
  int status;
  waitpid(v, &status, 0);
  printf("vfork+exec: %d\n", WEXITSTATUS(status));

  pid_t s;
  char* argv[] = {"true", NULL};
  int rc = posix_spawn(&s, "/bin/true", NULL, NULL, argv, environ);
  waitpid(s, &status, 0);
  printf("posix_spawn: %d %d\n", rc, WEXITSTATUS(status));
  fflush(stdout);

  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  pid_t first = fork();
  if (first == 0) {
    if (fork() == 0) {  // the daemon: outlives its parent, reports when done
      setsid();
      free(malloc(2000));
      (void)!write(pipefd[1], "d", 1);
      _exit(0);
    }
    _exit(0);
  }
  waitpid(first, &status, 0);
  char c = 0;
  (void)!read(pipefd[0], &c, 1);
  printf("daemon: %c\n", c);
  return 0;
}
