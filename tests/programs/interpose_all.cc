// interpose_all.cc: calls every allocation function heapwarden interposes, checks each
// result the way the C and C++ standards and glibc define it, and exits 1 with one line
// per failed check on stderr. Run plain it proves the checks; run under the preload it
// proves the interposed functions behave like the real ones.
//
// At exit exactly one block is live: kept_by_interpose's malloc(4242). On success it
// prints "interpose_all: ok, N allocations" where N counts the calls that returned a new
// block, so a report can be checked against it (totals.allocations >= N).
// Output goes through write(2), not stdio, so the program itself leaves no stdio buffer.

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <initializer_list>
#include <new>

#include "escape.h"

// A failed realloc leaves the old block valid, and this program checks exactly that.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif

namespace {

int g_failures = 0;
long g_allocations = 0;

void Say(int fd, const char *a, const char *b = "", const char *c = "") {
  char line[512];
  size_t n = 0;
  for (const char *part : {a, b, c}) {
    size_t len = strlen(part);
    if (n + len > sizeof line - 2) len = sizeof line - 2 - n;
    memcpy(line + n, part, len);
    n += len;
  }
  line[n++] = '\n';
  ssize_t ignored = write(fd, line, n);
  (void)ignored;
}

void Check(bool ok, const char *what) {
  if (!ok) {
    ++g_failures;
    Say(2, "interpose_all: FAILED: ", what);
  }
}

// Records a call that returned a new block.
void *Got(void *p) {
  if (p != nullptr) ++g_allocations;
  Escape(p);
  return p;
}

bool Aligned(const void *p, size_t alignment) {
  return (reinterpret_cast<uintptr_t>(p) & (alignment - 1)) == 0;
}

bool AllBytes(const void *p, size_t n, unsigned char value) {
  const auto *bytes = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != value) return false;
  }
  return true;
}

// Sizes the compiler cannot see, so it neither folds nor warns about the huge ones.
volatile size_t g_huge = SIZE_MAX / 2;
volatile size_t g_four = 4;

HW_NOINLINE void TestMallocFree() {
  errno = EDOM;
  void *p = Got(malloc(1000));
  Check(p != nullptr, "malloc(1000) returned NULL");
  Check(errno == EDOM, "malloc changed errno on success");
  Check(malloc_usable_size(p) >= 1000, "malloc_usable_size < 1000 for malloc(1000)");
  memset(p, 0xab, 1000);
  free(p);
  Check(errno == EDOM, "free changed errno");

  void *zero = malloc(0);  // may be NULL or a unique pointer; either is fine
  Escape(zero);
  free(zero);
  free(nullptr);
  Check(malloc_usable_size(nullptr) == 0, "malloc_usable_size(NULL) != 0");

  errno = 0;
  void *huge = malloc(g_huge * 3);
  Escape(huge);  // or clang assumes an unused malloc succeeded
  Check(huge == nullptr, "malloc(huge) did not fail");
  Check(errno == ENOMEM, "malloc(huge) did not set ENOMEM");

  // A large block (mmap-served by glibc) and many small ones.
  void *large = Got(malloc(3 << 20));
  Check(large != nullptr, "malloc(3 MiB) returned NULL");
  memset(large, 1, 3 << 20);
  free(large);
  void *blocks[256];
  for (int i = 0; i < 256; ++i) blocks[i] = Got(malloc(16 + i * 8));
  for (int i = 255; i >= 0; --i) free(blocks[i]);
}

HW_NOINLINE void TestCalloc() {
  auto *p = static_cast<unsigned char *>(Got(calloc(100, 37)));
  Check(p != nullptr, "calloc(100, 37) returned NULL");
  Check(p != nullptr && AllBytes(p, 3700, 0), "calloc memory not zeroed");
  Check(malloc_usable_size(p) >= 3700, "malloc_usable_size < 3700 for calloc");
  free(p);

  // Reuse a dirtied chunk: calloc must zero it even if the allocator recycles it.
  void *dirty = Got(malloc(512));
  memset(dirty, 0xff, 512);
  free(dirty);
  void *clean = Got(calloc(1, 512));
  Check(clean != nullptr && AllBytes(clean, 512, 0), "calloc of a recycled chunk not zeroed");
  free(clean);

  void *big = Got(calloc(1, 2 << 20));
  Check(big != nullptr && AllBytes(big, 2 << 20, 0), "calloc(1, 2 MiB) not zeroed");
  free(big);

  errno = 0;
  void *overflow = calloc(g_huge, g_four);
  Escape(overflow);
  Check(overflow == nullptr, "calloc(SIZE_MAX/2, 4) did not fail");
  Check(errno == ENOMEM, "calloc overflow did not set ENOMEM");
}

HW_NOINLINE void TestRealloc() {
  auto *p = static_cast<unsigned char *>(Got(realloc(nullptr, 64)));  // realloc(NULL, n)
  Check(p != nullptr, "realloc(NULL, 64) returned NULL");
  memset(p, 0x5a, 64);
  p = static_cast<unsigned char *>(Got(realloc(p, 100000)));  // grow
  Check(p != nullptr && AllBytes(p, 64, 0x5a), "realloc grow lost the contents");
  memset(p, 0x33, 100000);
  p = static_cast<unsigned char *>(Got(realloc(p, 10)));  // shrink
  Check(p != nullptr && AllBytes(p, 10, 0x33), "realloc shrink lost the contents");
  Check(malloc_usable_size(p) >= 10, "malloc_usable_size < 10 after shrink");
  p = static_cast<unsigned char *>(Got(realloc(p, 5 << 20)));  // grow into an mmap'd block
  Check(p != nullptr && AllBytes(p, 10, 0x33), "realloc to 5 MiB lost the contents");

  errno = 0;
  void *fail = realloc(p, g_huge * 3);
  Escape(fail);
  Check(fail == nullptr && errno == ENOMEM, "realloc(p, huge) did not fail with ENOMEM");
  Check(AllBytes(p, 10, 0x33), "failed realloc damaged the old block");

  // realloc(p, 0): glibc frees p and returns NULL; other allocators may return a
  // minimal block, which must then be freed.
  void *r = realloc(p, 0);
  Escape(r);
  free(r);
}

HW_NOINLINE void TestReallocarray() {
  auto *p = static_cast<int *>(Got(reallocarray(nullptr, 50, sizeof(int))));
  Check(p != nullptr, "reallocarray(NULL, 50, 4) returned NULL");
  for (int i = 0; i < 50; ++i) p[i] = i;
  p = static_cast<int *>(Got(reallocarray(p, 5000, sizeof(int))));
  Check(p != nullptr && p[49] == 49, "reallocarray grow lost the contents");
  errno = 0;
  void *overflow = reallocarray(p, g_huge, g_four);
  Escape(overflow);
  Check(overflow == nullptr && errno == ENOMEM, "reallocarray overflow did not fail with ENOMEM");
  Check(p[0] == 0 && p[49] == 49, "failed reallocarray damaged the old block");
  free(p);
}

HW_NOINLINE void TestAlignedC() {
  for (size_t alignment = 16; alignment <= 4096; alignment *= 2) {
    void *p = nullptr;
    int rc = posix_memalign(&p, alignment, 1000);
    Got(rc == 0 ? p : nullptr);
    Check(rc == 0 && p != nullptr, "posix_memalign failed");
    Check(Aligned(p, alignment), "posix_memalign result misaligned");
    Check(malloc_usable_size(p) >= 1000, "malloc_usable_size < 1000 for posix_memalign");
    free(p);
  }
  void *p = nullptr;
  Check(posix_memalign(&p, 24, 100) == EINVAL, "posix_memalign(24) did not return EINVAL");
  Check(posix_memalign(&p, 4, 100) == EINVAL,
        "posix_memalign(4) (not a multiple of sizeof(void*)) did not return EINVAL");

  void *a = Got(aligned_alloc(64, 640));
  Check(a != nullptr && Aligned(a, 64), "aligned_alloc(64, 640) failed or misaligned");
  free(a);
  void *big = Got(aligned_alloc(4096, 1 << 20));
  Check(big != nullptr && Aligned(big, 4096), "aligned_alloc(4096, 1 MiB) failed or misaligned");
  free(big);

  void *m = Got(memalign(256, 1000));
  Check(m != nullptr && Aligned(m, 256), "memalign(256, 1000) failed or misaligned");
  free(m);

  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void *v = Got(valloc(5000));
  Check(v != nullptr && Aligned(v, page), "valloc(5000) failed or not page aligned");
  Check(malloc_usable_size(v) >= 5000, "malloc_usable_size < 5000 for valloc");
  free(v);
  void *pv = Got(pvalloc(5000));
  Check(pv != nullptr && Aligned(pv, page), "pvalloc(5000) failed or not page aligned");
  Check(malloc_usable_size(pv) >= 5000, "malloc_usable_size < 5000 for pvalloc");
  free(pv);
}

struct Counted {
  static inline int live = 0;
  Counted() { ++live; }
  virtual ~Counted() { --live; }  // non-trivial: new[] stores a cookie, delete is sized
  char payload[40];
};

struct alignas(128) Wide {
  char data[384];
};

int g_new_handler_calls = 0;
void CountingNewHandler() {
  ++g_new_handler_calls;
  std::set_new_handler(nullptr);  // the next failure throws
}

HW_NOINLINE void TestOperatorNew() {
  // Explicit calls: each replaceable form by name.
  void *p = Got(::operator new(100));
  ::operator delete(p);
  p = Got(::operator new(100));
  ::operator delete(p, 100);
  p = Got(::operator new[](200));
  ::operator delete[](p);
  p = Got(::operator new[](200));
  ::operator delete[](p, 200);
  p = Got(::operator new(300, std::nothrow));
  Check(p != nullptr, "operator new(nothrow) returned NULL");
  ::operator delete(p, std::nothrow);
  p = Got(::operator new[](300, std::nothrow));
  Check(p != nullptr, "operator new[](nothrow) returned NULL");
  ::operator delete[](p, std::nothrow);

  const auto al = std::align_val_t{256};
  p = Got(::operator new(500, al));
  Check(Aligned(p, 256), "operator new(align 256) misaligned");
  ::operator delete(p, al);
  p = Got(::operator new(500, al));
  ::operator delete(p, 500, al);
  p = Got(::operator new[](600, al));
  Check(Aligned(p, 256), "operator new[](align 256) misaligned");
  ::operator delete[](p, al);
  p = Got(::operator new[](600, al));
  ::operator delete[](p, 600, al);
  p = Got(::operator new(700, al, std::nothrow));
  Check(p != nullptr && Aligned(p, 256), "operator new(align, nothrow) failed or misaligned");
  ::operator delete(p, al, std::nothrow);
  p = Got(::operator new[](700, al, std::nothrow));
  Check(p != nullptr && Aligned(p, 256), "operator new[](align, nothrow) failed or misaligned");
  ::operator delete[](p, al, std::nothrow);
  p = Got(::operator new(4096 * 3, std::align_val_t{4096}));
  Check(Aligned(p, 4096), "operator new(align 4096) misaligned");
  ::operator delete(p, std::align_val_t{4096});

  // New-expressions, as a compiler emits them.
  auto *one = static_cast<Counted *>(Got(new Counted));
  delete one;  // sized delete through the virtual destructor
  auto *many = static_cast<Counted *>(Got(new Counted[7]));
  Check(Counted::live == 7, "new Counted[7] did not construct 7 objects");
  delete[] many;  // sized delete[] with the array cookie
  Check(Counted::live == 0, "delete[] did not destroy 7 objects");
  auto *wide = static_cast<Wide *>(Got(new Wide));
  Check(Aligned(wide, 128), "new of an alignas(128) type misaligned");
  delete wide;  // aligned sized delete
  auto *wides = static_cast<Wide *>(Got(new Wide[3]));
  Check(Aligned(wides, 128), "new[] of an alignas(128) type misaligned");
  delete[] wides;
  auto *nothrow_wide = static_cast<Wide *>(Got(new (std::nothrow) Wide));
  Check(nothrow_wide != nullptr && Aligned(nothrow_wide, 128), "new (nothrow) Wide failed");
  delete nothrow_wide;
  int *null_int = nullptr;
  delete null_int;
  delete[] null_int;

  // Failure: nothrow forms return NULL, throwing forms call the new_handler, then throw.
  void *none = ::operator new(g_huge * 3, std::nothrow);
  Escape(none);
  Check(none == nullptr, "operator new(huge, nothrow) != NULL");
  none = ::operator new[](g_huge * 3, std::nothrow);
  Escape(none);
  Check(none == nullptr, "operator new[](huge, nothrow) != NULL");
  none = ::operator new(g_huge * 3, al, std::nothrow);
  Escape(none);
  Check(none == nullptr, "operator new(huge, align, nothrow) != NULL");
  bool threw = false;
  try {
    Escape(::operator new(g_huge * 3));
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  Check(threw, "operator new(huge) did not throw std::bad_alloc");
  threw = false;
  try {
    Escape(::operator new[](g_huge * 3, al));
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  Check(threw, "operator new[](huge, align) did not throw std::bad_alloc");

  std::set_new_handler(CountingNewHandler);
  threw = false;
  try {
    Escape(::operator new(g_huge * 3));
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  Check(threw, "operator new(huge) with a new_handler did not throw at last");
  Check(g_new_handler_calls == 1, "operator new did not call the new_handler exactly once");
}

// The one block left live at exit.
HW_NOINLINE void kept_by_interpose() {
  static void *kept;
  kept = Got(malloc(4242));
  memset(kept, 7, 4242);
}

void Itoa(long value, char *out) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

}  // namespace

int main() {
  TestMallocFree();
  TestCalloc();
  TestRealloc();
  TestReallocarray();
  TestAlignedC();
  TestOperatorNew();
  kept_by_interpose();
  if (g_failures != 0) {
    char count[24];
    Itoa(g_failures, count);
    Say(2, "interpose_all: ", count, " checks failed");
    return 1;
  }
  char count[24];
  Itoa(g_allocations, count);
  Say(1, "interpose_all: ok, ", count, " allocations");
  return 0;
}
