// leak_roots.cc: blocks held from the executable's own roots must stay "reachable"
// whichever way heapwarden came in -- in particular with libheapwarden.a, where
// heapwarden's code shares the executable with these roots.
//   global_held   malloc(4242) kept in a global            reachable
//   tls_held      malloc(4343) kept in a thread_local      reachable
//   leaked        malloc(5151), pointer dropped            direct
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "escape.h"

void* g_held = nullptr;
thread_local void* t_held = nullptr;

HW_NOINLINE void global_held() { g_held = malloc(4242); }
HW_NOINLINE void tls_held() { t_held = malloc(4343); }
HW_NOINLINE void leaked() {
  void* p = malloc(5151);
  Escape(p);
  std::memset(&p, 0, sizeof p);
}

int main() {
  global_held();
  tls_held();
  leaked();
  std::printf("held %s %s\n", g_held != nullptr ? "yes" : "no", t_held != nullptr ? "yes" : "no");
  return 0;
}
