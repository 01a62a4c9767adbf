// own_malloc.c: libstress_own_malloc.so, a library built -Bsymbolic with its own
// malloc family (a bump allocator over a static arena, exported, so it serves the
// whole program as mimalloc's override does). -Bsymbolic binds its own calls to its
// own malloc even when an LD_PRELOAD'ed tracker defines one: own_strdup's block never
// passes through the tracker, and the program frees it with free().
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARENA_BYTES (64u << 20)
static _Alignas(64) unsigned char arena[ARENA_BYTES];
static size_t used;  // bytes handed out; blocks are never reused (a test allocator)
static size_t strdup_frees;  // frees that reached this free() of own_strdup's blocks

#define MAGIC 0x0b5e55ed
#define MAGIC_STRDUP 0x57d0b5e5

static size_t* Header(void* p) { return (size_t*)p - 2; }

void* malloc(size_t size) {
  size_t need = ((size + 15) & ~(size_t)15) + 16;
  if (size > ARENA_BYTES) goto fail;
  size_t at = __atomic_fetch_add(&used, need, __ATOMIC_RELAXED);
  if (at + need > ARENA_BYTES) goto fail;
  size_t* h = (size_t*)(arena + at);
  h[0] = size;
  h[1] = MAGIC;
  return h + 2;
fail:
  errno = ENOMEM;
  return NULL;
}

void free(void* p) {
  if (p == NULL) return;
  if ((unsigned char*)p < arena || (unsigned char*)p >= arena + ARENA_BYTES ||
      (Header(p)[1] != MAGIC && Header(p)[1] != MAGIC_STRDUP)) {
    __builtin_trap();  // not ours: a tracker sent a block it should have kept
  }
  if (Header(p)[1] == MAGIC_STRDUP) __atomic_fetch_add(&strdup_frees, 1, __ATOMIC_RELAXED);
}

// How many of own_strdup's blocks came back here (a tracker that sends them elsewhere
// makes this differ from the plain run).
size_t own_strdup_frees(void) { return __atomic_load_n(&strdup_frees, __ATOMIC_RELAXED); }

void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) { errno = ENOMEM; return NULL; }
  return malloc(total);  // the arena is zero and never reused
}

size_t malloc_usable_size(void* p) { return p ? Header(p)[0] : 0; }

void* realloc(void* p, size_t size) {
  if (p == NULL) return malloc(size);
  if (size == 0) { free(p); return NULL; }
  void* q = malloc(size);
  if (q == NULL) return NULL;
  size_t old = Header(p)[0];
  memcpy(q, p, old < size ? old : size);
  free(p);
  return q;
}

void* memalign(size_t alignment, size_t size) {
  if (alignment <= 16) return malloc(size);
  unsigned char* raw = malloc(size + alignment);
  if (raw == NULL) return NULL;
  unsigned char* p = (unsigned char*)(((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1));
  if (p != raw) {  // a header in front of the aligned block too
    ((size_t*)p)[-2] = size;
    ((size_t*)p)[-1] = MAGIC;
  }
  return p;
}
void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }
int posix_memalign(void** out, size_t alignment, size_t size) {
  void* p = memalign(alignment, size);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) { return memalign(4096, size); }
void* pvalloc(size_t size) { return memalign(4096, (size + 4095) & ~(size_t)4095); }

char* own_strdup(const char* s) {
  size_t n = strlen(s) + 1;
  char* p = malloc(n);  // bound to this library's malloc by -Bsymbolic
  if (p != NULL) {
    memcpy(p, s, n);
    Header(p)[1] = MAGIC_STRDUP;
  }
  return p;
}
