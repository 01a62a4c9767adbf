// hw_test_plugin.c: a plugin that leaks one block; leaks_known dlopen()s it, calls
// plugin_leak() and dlclose()s it, so the report must name plugin_leak_inner from a
// module that is no longer mapped. Plain C: no STB_GNU_UNIQUE symbols, no
// -z nodelete, so dlclose really unloads it.

#include <stdlib.h>

#include "escape.h"

HW_NOINLINE static void plugin_leak_inner(void) {
  void *p = malloc(7001);  // SITE:plugin_leak_inner
  Escape(p);
}

void plugin_leak(void) {
  plugin_leak_inner();
  __asm__ volatile("");  // no tail call: keep plugin_leak on the stack too
}
