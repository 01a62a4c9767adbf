// bad_sizes.c: allocation calls that fail or are odd; prints what each returned (NULL
// or not) and errno, which must read the same plain and tracked.
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void Show(const char* what, void* p, int err) {
  printf("%-28s %s errno=%d\n", what, p == NULL ? "NULL" : "block", p == NULL ? err : 0);
  free(p);
}

#define TRY(what, call)      \
  do {                       \
    errno = 0;               \
    void* p_ = (call);       \
    Show(what, p_, errno);   \
  } while (0)

int main(void) {
  TRY("malloc(SIZE_MAX)", malloc(SIZE_MAX));
  TRY("malloc(SIZE_MAX/2)", malloc(SIZE_MAX / 2));
  TRY("calloc(overflow)", calloc(SIZE_MAX / 2, 3));
  TRY("calloc(0, 0)", calloc(0, 0));
  TRY("realloc(NULL, SIZE_MAX)", realloc(NULL, SIZE_MAX));
  TRY("aligned_alloc(3, 10)", aligned_alloc(3, 10));
  TRY("aligned_alloc(0, 10)", aligned_alloc(0, 10));
  TRY("aligned_alloc(64, 10)", aligned_alloc(64, 10));
  TRY("aligned_alloc(SIZE_MAX, 10)", aligned_alloc(SIZE_MAX, 10));
  TRY("memalign(24, 100)", memalign(24, 100));
  TRY("reallocarray(overflow)", reallocarray(NULL, SIZE_MAX / 2, 3));
  void* p = NULL;
  errno = 0;
  int rc = posix_memalign(&p, 3, 10);
  printf("posix_memalign(3, 10)        rc=%d errno=%d\n", rc, errno);
  errno = 0;
  rc = posix_memalign(&p, 64, SIZE_MAX);
  printf("posix_memalign(64, SIZE_MAX) rc=%d errno=%d\n", rc, errno);
  void* q = malloc(100);
  errno = 0;
  void* r = realloc(q, 0);  // glibc: frees q, returns NULL
  printf("realloc(p, 0)                %s errno=%d\n", r == NULL ? "NULL" : "block", errno);
  free(r);
  q = malloc(100);
  errno = 0;
  r = realloc(q, SIZE_MAX);  // fails; q is still the program's
  printf("realloc(p, SIZE_MAX)         %s errno=%d\n", r == NULL ? "NULL" : "block", errno);
  free(r == NULL ? q : r);
  return 0;
}
