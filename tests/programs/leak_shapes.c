// leak_shapes.c: ground truth for leak classification (direct / indirect / reachable).
// One behaviour per mode; each leaks blocks of distinctive sizes from named functions,
// so tests can check the report field by field, and the same binary runs under
// valgrind --leak-check=full and (rebuilt with clang -fsanitize=leak) LeakSanitizer.
//
//   leak_shapes list      list_head: 1 block of 136 bytes, direct; list_node: 5 blocks
//                         of 72 bytes, indirect (reachable only through the head)
//   leak_shapes global    keep_global: 2222 bytes held by a global, reachable; and
//                         keep_global_child: 333 bytes held only by that block, reachable
//   leak_shapes cycle     cycle_node: 2 blocks of 88 bytes pointing at each other and
//                         nothing else at them: one direct, one indirect
//   leak_shapes thread    leak_in_thread: 3003 bytes leaked by a thread that has ended,
//                         direct; held_by_thread: 4004 bytes held on the stack of a
//                         thread still blocked at exit, reachable
//   leak_shapes fork      child_only_leak: 5005 bytes leaked by a forked child, which
//                         exits; the parent leaks nothing
//   leak_shapes plugin P  plugin_leak_inner (in plugin P, dlclosed): 7001 bytes, direct
//   leak_shapes libc      leak_strdup: strdup 30 bytes; leak_asprintf: asprintf;
//                         leak_getline: getline's buffer; all direct
//   leak_shapes clean     allocates and frees; nothing leaks
//   leak_shapes backtrace one backtrace() call: glibc's loader keeps what it allocated
//                         to load libgcc_s (its blocks are glibc's); nothing leaks
//
// Exit status 0, or 2 on a usage or setup error.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape.h"

struct node {
  struct node *next;
  char payload[64];
};
_Static_assert(sizeof(struct node) == 72, "node size");

struct list {
  struct node *first;
  char name[128];
};
_Static_assert(sizeof(struct list) == 136, "list size");

// Wipes the dead part of the stack below the caller, so that stale copies of pointers
// left by the functions above cannot make a leaked block look reachable to a scanner
// that reads a later frame's uninitialised slots.
HW_NOINLINE static void scrub_stack(void) {
  volatile char junk[16384];
  memset((char *)junk, 0, sizeof(junk));
  Escape((const void *)junk);
}

// Fields are set one by one: malloc followed by a zeroing memset would become a calloc
// in tail position, and the allocating function would vanish from the stack.
HW_NOINLINE static struct node *list_node(struct node *next) {
  struct node *n = malloc(sizeof(struct node));
  n->next = next;
  n->payload[0] = 'n';
  Escape(n);
  return n;
}

HW_NOINLINE static struct list *list_head(void) {
  struct list *l = malloc(sizeof(struct list));
  l->first = NULL;
  l->name[0] = 'l';
  Escape(l);
  return l;
}

HW_NOINLINE static void leak_list(void) {
  struct list *l = list_head();
  for (int i = 0; i < 5; ++i) l->first = list_node(l->first);
  Escape(l);
}

void *g_kept;

HW_NOINLINE static void *keep_global_child(void) {
  void *p = calloc(1, 333);
  Escape(p);
  return p;
}

HW_NOINLINE static void keep_global(void) {
  void **block = malloc(2222);
  Escape(block);
  block[3] = keep_global_child();
  g_kept = block;
}

struct cycle {
  struct cycle *other;
  char payload[80];
};
_Static_assert(sizeof(struct cycle) == 88, "cycle size");

HW_NOINLINE static struct cycle *cycle_node(void) {
  struct cycle *c = calloc(1, sizeof(struct cycle));
  Escape(c);
  return c;
}

HW_NOINLINE static void leak_cycle(void) {
  struct cycle *a = cycle_node();
  struct cycle *b = cycle_node();
  a->other = b;
  b->other = a;
  Escape(a);
}

HW_NOINLINE static void *leak_in_thread(void *arg) {
  void *p = malloc(3003);
  Escape(p);
  scrub_stack();
  return arg;
}

static int g_pipe[2];
static pid_t g_holder_tid;

HW_NOINLINE static void *held_by_thread(void *arg) {
  char *volatile held = malloc(4004);
  memset(held, 1, 4004);
  __atomic_store_n(&g_holder_tid, gettid(), __ATOMIC_RELEASE);
  char c;
  // Blocks until the process exits: the pointer stays on this thread's stack.
  while (read(g_pipe[0], &c, 1) < 0) {
  }
  free(held);
  return arg;
}

// True once the holder thread is blocked in read(2): /proc's syscall file starts
// with the number of the call a blocked thread is in ("running" otherwise).
static int holder_sleeps_in_read(void) {
  pid_t tid = __atomic_load_n(&g_holder_tid, __ATOMIC_ACQUIRE);
  if (tid == 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  long number = -1;
  int ok = fscanf(f, "%ld", &number) == 1 && number == SYS_read;
  fclose(f);
  return ok;
}

static int run_threads(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, leak_in_thread, NULL) != 0 || pthread_join(t, NULL) != 0) return 2;
  if (pipe(g_pipe) != 0) return 2;
  pthread_t holder;
  if (pthread_create(&holder, NULL, held_by_thread, NULL) != 0) return 2;
  // Exit only once the block exists and the holder sleeps in read(): the scan at exit
  // must find the block on the stack of a thread blocked in a system call.
  for (int polls = 0; polls < 10000 && !holder_sleeps_in_read(); ++polls) usleep(1000);
  return 0;
}

HW_NOINLINE static void child_only_leak(void) {
  void *p = malloc(5005);
  Escape(p);
}

static int run_fork(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    child_only_leak();
    scrub_stack();
    exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 2;
  return 0;
}

static int run_plugin(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    fprintf(stderr, "leak_shapes: dlopen %s: %s\n", path, dlerror());
    return 2;
  }
  void (*plugin_leak)(void) = (void (*)(void))dlsym(handle, "plugin_leak");
  if (plugin_leak == NULL) return 2;
  plugin_leak();
  dlclose(handle);
  return 0;
}

HW_NOINLINE static void leak_strdup(void) {
  char source[] = "strdup leaks these 29 chars..";
  Escape(source);
  char *p = strdup(source);
  Escape(p);
}

HW_NOINLINE static void leak_asprintf(void) {
  char *p = NULL;
  if (asprintf(&p, "asprintf leaks %d bytes here", 42) < 0) exit(2);
  Escape(p);
}

HW_NOINLINE static void leak_getline(void) {
  FILE *f = fmemopen((void *)"first line\nsecond line\n", 23, "r");
  if (f == NULL) exit(2);
  char *line = NULL;
  size_t capacity = 0;
  if (getline(&line, &capacity, f) < 0) exit(2);
  fclose(f);
  Escape(line);
}

HW_NOINLINE static void clean(void) {
  for (int i = 0; i < 100; ++i) {
    char *p = malloc(100 + i);
    Escape(p);
    char *q = strdup("clean");
    Escape(q);
    free(q);
    free(p);
  }
  char *line = NULL;
  size_t capacity = 0;
  FILE *f = fmemopen((void *)"x\n", 2, "r");
  if (f != NULL) {
    if (getline(&line, &capacity, f) < 0) capacity = 0;
    fclose(f);
  }
  free(line);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: leak_shapes list|global|cycle|thread|fork|plugin PATH|libc|clean|backtrace\n");
    return 2;
  }
  const char *mode = argv[1];
  int status = 0;
  if (strcmp(mode, "list") == 0) {
    leak_list();
  } else if (strcmp(mode, "global") == 0) {
    keep_global();
  } else if (strcmp(mode, "cycle") == 0) {
    leak_cycle();
  } else if (strcmp(mode, "thread") == 0) {
    status = run_threads();
  } else if (strcmp(mode, "fork") == 0) {
    status = run_fork();
  } else if (strcmp(mode, "plugin") == 0) {
    if (argc < 3) return 2;
    status = run_plugin(argv[2]);
  } else if (strcmp(mode, "libc") == 0) {
    leak_strdup();
    leak_asprintf();
    leak_getline();
  } else if (strcmp(mode, "clean") == 0) {
    clean();
  } else if (strcmp(mode, "backtrace") == 0) {
    void *frames[8];
    if (backtrace(frames, 8) <= 0) status = 2;
  } else {
    fprintf(stderr, "leak_shapes: unknown mode %s\n", mode);
    return 2;
  }
  scrub_stack();
  printf("leak_shapes %s: done\n", mode);
  return status;
}
