// dlopen_override.cc: dlopen, for RTLD_DEEPBIND only (deepbind_rebind.h). Preload side.
//
// dlopen finds the object through its caller (DT_RUNPATH/DT_RPATH and $ORIGIN of the
// object that called it, and its namespace): a wrapper that calls the real dlopen would
// make heapwarden the caller. So the entry point is a few instructions of assembly
// that jump to the real dlopen, return address untouched, unless the flags hold
// RTLD_DEEPBIND; only then does heapwarden call dlopen itself, after resolving a bare
// file name against the caller's run paths as the real one would, and rebind the
// loaded objects' allocation slots.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "record/alloc/deepbind_rebind.h"
#include "record/base/spin_lock.h"

using DlopenFn = void* (*)(const char*, int);

// Read by the assembly below: hidden, so it is reached without the GOT.
extern "C" {
__attribute__((visibility("hidden"))) DlopenFn heapwarden_real_dlopen = nullptr;
}

extern "C" __attribute__((visibility("hidden"))) DlopenFn heapwarden_resolve_dlopen() {
  DlopenFn real = reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));
  __atomic_store_n(&heapwarden_real_dlopen, real, __ATOMIC_RELEASE);
  return real;
}

namespace heapwarden::internal {
namespace {

SpinLock g_rebind_lock;

// The caller's DT_RUNPATH (or DT_RPATH), "" when none.
const char* RunPathOf(const link_map* map) {
  const char* strtab = nullptr;
  const char* run_path = nullptr;
  ElfW(Xword) offset = 0;
  bool has_path = false;
  for (const ElfW(Dyn)* d = map->l_ld; d != nullptr && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_STRTAB) {
      uintptr_t p = d->d_un.d_ptr;
      strtab = reinterpret_cast<const char*>(p < map->l_addr ? p + map->l_addr : p);
    } else if (d->d_tag == DT_RUNPATH || (d->d_tag == DT_RPATH && !has_path)) {
      offset = d->d_un.d_val;
      has_path = true;
    }
  }
  if (strtab != nullptr && has_path) run_path = strtab + offset;
  return run_path != nullptr ? run_path : "";
}

// A bare name found in one of the caller's run paths, as the dynamic linker would look
// first; false when none holds it (the system search then applies, the caller's
// irrelevant).
bool FindInRunPath(const char* file, const void* caller, char* out, size_t size) {
  Dl_info info;
  link_map* map = nullptr;
  if (dladdr1(caller, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 || map == nullptr) {
    return false;
  }
  const char* paths = RunPathOf(map);
  char origin[4096] = {};
  const char* object = map->l_name != nullptr && map->l_name[0] != '\0' ? map->l_name : nullptr;
  if (object != nullptr) {
    strncpy(origin, object, sizeof(origin) - 1);
  } else if (readlink("/proc/self/exe", origin, sizeof(origin) - 1) < 0) {
    origin[0] = '\0';
  }
  char* slash = strrchr(origin, '/');
  if (slash != nullptr) *slash = '\0';
  for (const char* p = paths; *p != '\0';) {
    const char* end = strchr(p, ':');
    size_t len = end != nullptr ? static_cast<size_t>(end - p) : strlen(p);
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < size;) {
      if (strncmp(p + i, "$ORIGIN", 7) == 0 || strncmp(p + i, "${ORIGIN}", 9) == 0) {
        size_t skip = p[i + 1] == '{' ? 9 : 7;
        for (const char* o = origin; *o != '\0' && n + 1 < size; ++o) out[n++] = *o;
        i += skip;
      } else {
        out[n++] = p[i++];
      }
    }
    if (n + 2 + strlen(file) < size) {
      out[n++] = '/';
      strcpy(out + n, file);
      if (access(out, R_OK) == 0) return true;
    }
    p += len;
    if (*p == ':') ++p;
  }
  return false;
}

}  // namespace
}  // namespace heapwarden::internal

// The RTLD_DEEPBIND path, from the assembly with the caller's return address.
extern "C" __attribute__((visibility("hidden"))) void* heapwarden_deepbind_dlopen(const char* file,
                                                                                  int flags,
                                                                                  const void* caller) {
  using namespace heapwarden::internal;
  DlopenFn real = __atomic_load_n(&heapwarden_real_dlopen, __ATOMIC_ACQUIRE);
  if (real == nullptr) real = heapwarden_resolve_dlopen();
  char found[4096];
  const char* name = file;
  if (file != nullptr && strchr(file, '/') == nullptr && FindInRunPath(file, caller, found, sizeof(found))) {
    name = found;
  }
  // On this thread's stack, and no lock held across the load: a plugin's constructor
  // may dlopen with RTLD_DEEPBIND too.
  LoadedObjects before;
  ListLoadedObjects(&before);
  void* handle = real(name, flags);
  if (handle != nullptr) {
    SpinLockHolder hold(g_rebind_lock);
    RebindAfterDeepbind(handle, before, reinterpret_cast<const void*>(&heapwarden_deepbind_dlopen));
  }
  return handle;
}

#if defined(__x86_64__)
// dlopen(file, flags): flags in %esi. On entry %rsp is 8 mod 16 (the return address).
__asm__(R"(
  .text
  .globl dlopen
  .type dlopen, @function
dlopen:
  .cfi_startproc
  testl $)" "0x8" R"(, %esi
  jnz 2f
  movq heapwarden_real_dlopen(%rip), %rax
  testq %rax, %rax
  jz 1f
  jmp *%rax
1:
  pushq %rdi
  .cfi_adjust_cfa_offset 8
  pushq %rsi
  .cfi_adjust_cfa_offset 8
  subq $8, %rsp
  .cfi_adjust_cfa_offset 8
  call heapwarden_resolve_dlopen
  addq $8, %rsp
  .cfi_adjust_cfa_offset -8
  popq %rsi
  .cfi_adjust_cfa_offset -8
  popq %rdi
  .cfi_adjust_cfa_offset -8
  jmp *%rax
2:
  movq (%rsp), %rdx
  jmp heapwarden_deepbind_dlopen
  .cfi_endproc
  .size dlopen, .-dlopen
)");
static_assert(RTLD_DEEPBIND == 0x8, "the assembly tests this bit");
#endif
