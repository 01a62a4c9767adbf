// outlive_run.c STATE_DIR: a double-fork daemon that outlives its parent, and so
// outlives `heapwarden run`. The daemon writes "PID OUTPUT_DIR\n" to STATE_DIR/daemon
// (OUTPUT_DIR: where HEAPWARDEN_OPTIONS says its report goes), waits for STATE_DIR/go,
// allocates and exits normally, so that its report is written then, after `run` has
// removed the directory it gave the program. The parent returns once the daemon has
// written its line.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void* volatile g_sink;

// The directory of the last output=PATH in HEAPWARDEN_OPTIONS ("" when none).
static void OutputDir(char* out, size_t size) {
  out[0] = '\0';
  const char* options = getenv("HEAPWARDEN_OPTIONS");
  const char* found = NULL;
  for (const char* p = options; p != NULL && (p = strstr(p, "output=")) != NULL; p += 7) {
    if (p == options || p[-1] == ':') found = p + 7;
  }
  if (found == NULL) return;
  size_t len = strcspn(found, ":");
  if (len >= size) return;
  memcpy(out, found, len);
  out[len] = '\0';
  char* slash = strrchr(out, '/');
  if (slash != NULL) *slash = '\0';
}

static void Daemon(const char* state_dir) {
  setsid();
  int null_fd = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) dup2(null_fd, fd);
  char dir[4096], path[4200], line[4200], go[4200];
  OutputDir(dir, sizeof(dir));
  snprintf(line, sizeof(line), "%d %s\n", (int)getpid(), dir);
  snprintf(path, sizeof(path), "%s/daemon.tmp", state_dir);
  FILE* f = fopen(path, "w");
  if (f == NULL) _exit(1);
  fputs(line, f);
  fclose(f);
  snprintf(go, sizeof(go), "%s/daemon", state_dir);
  rename(path, go);
  snprintf(go, sizeof(go), "%s/go", state_dir);
  for (int i = 0; i < 600 && access(go, F_OK) != 0; ++i) usleep(50 * 1000);
  g_sink = malloc(4242);
  exit(0);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) Daemon(argv[1]);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  char path[4200];
  snprintf(path, sizeof(path), "%s/daemon", argv[1]);
  for (int i = 0; i < 200 && access(path, F_OK) != 0; ++i) usleep(50 * 1000);
  puts("parent done");
  return 0;
}
