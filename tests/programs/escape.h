// escape.h: shared by the ground-truth programs in tests/programs/ (no heapwarden headers).
//
// Escape(p) tells the optimiser that p is used, so a malloc/free pair or a new-expression
// is never elided, while the program stays built like real code (-g -O2).
// HW_NOINLINE keeps each allocation in its own named function: no inlining and no
// cloning (a clone would be named "leak_malloc.constprop.0" in the report).

#ifndef HEAPWARDEN_TESTS_PROGRAMS_ESCAPE_H_
#define HEAPWARDEN_TESTS_PROGRAMS_ESCAPE_H_

static inline void Escape(const void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

#if defined(__clang__)
#define HW_NOINLINE __attribute__((noinline))
#else
#define HW_NOINLINE __attribute__((noinline, noclone))
#endif

#endif  // HEAPWARDEN_TESTS_PROGRAMS_ESCAPE_H_
