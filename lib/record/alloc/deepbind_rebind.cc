// deepbind_rebind.cc: see deepbind_rebind.h. Record side, in dlopen.
#include "record/alloc/deepbind_rebind.h"

#include <dlfcn.h>
#include <elf.h>
#include <gnu/lib-names.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace heapwarden::internal {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kJumpSlot = R_X86_64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_X86_64_GLOB_DAT;
#elif defined(__aarch64__)
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
#else
#error "deepbind_rebind.cc: unknown relocation types for this architecture"
#endif

// The names a plugin's allocations and frees go through. C++'s operators too: a
// plugin's `new` bound to libstdc++'s would be counted as malloc, and the program's
// `delete` of it taken for a mismatched free.
constexpr const char* kNames[] = {
    "malloc",  "free",          "calloc",   "realloc", "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc",  "pvalloc", "malloc_usable_size",
    "_Znwm",   "_Znam",         "_ZdlPv",   "_ZdaPv",  "_ZdlPvm",      "_ZdaPvm",
    "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
};
constexpr int kNameCount = sizeof(kNames) / sizeof(kNames[0]);

struct Binding {
  void* global;  // what a plain lookup gives: heapwarden's
  void* libc;    // libc's own definition
  void* next;    // the next definition after heapwarden's (libstdc++'s operators)
};

struct Scan {
  void* handle;
  const LoadedObjects* before;
  uintptr_t self_base;
  uintptr_t libc_base;
  Binding bindings[kNameCount];
  int rebound;
};

std::atomic<uint64_t> g_loads{0};
std::atomic<uint64_t> g_rebound{0};

int NameIndex(const char* name) {
  for (int i = 0; i < kNameCount; ++i) {
    if (strcmp(name, kNames[i]) == 0) return i;
  }
  return -1;
}

// glibc relocates the pointers of a writable .dynamic in place; a read-only one (vdso)
// keeps file addresses.
uintptr_t DynamicPointer(uintptr_t value, uintptr_t base) { return value < base ? value + base : value; }

// Writes `value` to `slot`, lifting RELRO's read-only protection around the write.
bool WriteSlot(void** slot, void* value, uintptr_t relro_lo, uintptr_t relro_hi) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(slot);
  if (a < relro_lo || a >= relro_hi) {
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    return true;
  }
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  void* first = reinterpret_cast<void*>(a & ~(page - 1));
  if (mprotect(first, page, PROT_READ | PROT_WRITE) != 0) return false;
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
  mprotect(first, page, PROT_READ);
  return true;
}

bool IsNew(const Scan& scan, uintptr_t base) {
  if (scan.before->overflowed) return true;
  for (int i = 0; i < scan.before->count; ++i) {
    if (scan.before->bases[i] == base) return false;
  }
  return true;
}

// `lo`..`hi`: the object's mapping when it is new (a value there is a lazy slot's
// stub), empty otherwise.
void RebindRelocations(Scan* scan, uintptr_t base, const ElfW(Rela)* rela, size_t count,
                       const ElfW(Sym)* symtab, const char* strtab, uintptr_t lo, uintptr_t hi,
                       uintptr_t relro_lo, uintptr_t relro_hi) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t type = static_cast<uint32_t>(ELF64_R_TYPE(rela[i].r_info));
    if (type != kJumpSlot && type != kGlobDat) continue;
    const ElfW(Sym)& sym = symtab[ELF64_R_SYM(rela[i].r_info)];
    if (sym.st_shndx != SHN_UNDEF) continue;  // the object's own definition: its business
    const int index = NameIndex(strtab + sym.st_name);
    if (index < 0) continue;
    const Binding& b = scan->bindings[index];
    if (b.global == nullptr) continue;
    void** slot = reinterpret_cast<void**>(base + rela[i].r_offset);
    void* value = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (value == b.global) continue;
    const uintptr_t v = reinterpret_cast<uintptr_t>(value);
    bool rebind = value == b.libc || (b.next != nullptr && value == b.next);
    if (!rebind && v >= lo && v < hi) {
      // A lazy slot not bound yet: what would the deep-bound lookup give? The loaded
      // object's scope answers for it and its dependencies.
      void* deep = dlsym(scan->handle, kNames[index]);
      rebind = deep == b.libc || (b.next != nullptr && deep == b.next);
    }
    if (rebind && WriteSlot(slot, b.global, relro_lo, relro_hi)) ++scan->rebound;
  }
}

int VisitObject(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<Scan*>(data);
  const uintptr_t base = info->dlpi_addr;
  const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (base == scan->self_base || base == scan->libc_base || strstr(name, "/ld-linux") != nullptr ||
      strstr(name, "linux-vdso") != nullptr) {
    return 0;
  }
  const ElfW(Dyn)* dynamic = nullptr;
  uintptr_t lo = UINTPTR_MAX, hi = 0, relro_lo = 0, relro_hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(base + ph.p_vaddr);
    if (ph.p_type == PT_LOAD) {
      if (base + ph.p_vaddr < lo) lo = base + ph.p_vaddr;
      if (base + ph.p_vaddr + ph.p_memsz > hi) hi = base + ph.p_vaddr + ph.p_memsz;
    }
    if (ph.p_type == PT_GNU_RELRO) {
      relro_lo = base + ph.p_vaddr;
      relro_hi = relro_lo + ph.p_memsz;
    }
  }
  if (dynamic == nullptr) return 0;
  if (!IsNew(*scan, base)) lo = hi = 0;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* jmprel = nullptr;
  const ElfW(Rela)* rela = nullptr;
  size_t jmprel_bytes = 0, rela_bytes = 0;
  bool plt_is_rela = true;
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = reinterpret_cast<const ElfW(Sym)*>(DynamicPointer(d->d_un.d_ptr, base)); break;
      case DT_STRTAB: strtab = reinterpret_cast<const char*>(DynamicPointer(d->d_un.d_ptr, base)); break;
      case DT_JMPREL: jmprel = reinterpret_cast<const ElfW(Rela)*>(DynamicPointer(d->d_un.d_ptr, base)); break;
      case DT_PLTRELSZ: jmprel_bytes = d->d_un.d_val; break;
      case DT_PLTREL: plt_is_rela = d->d_un.d_val == DT_RELA; break;
      case DT_RELA: rela = reinterpret_cast<const ElfW(Rela)*>(DynamicPointer(d->d_un.d_ptr, base)); break;
      case DT_RELASZ: rela_bytes = d->d_un.d_val; break;
      default: break;
    }
  }
  if (symtab == nullptr || strtab == nullptr) return 0;
  if (jmprel != nullptr && plt_is_rela) {
    RebindRelocations(scan, base, jmprel, jmprel_bytes / sizeof(ElfW(Rela)), symtab, strtab, lo, hi,
                      relro_lo, relro_hi);
  }
  if (rela != nullptr) {
    RebindRelocations(scan, base, rela, rela_bytes / sizeof(ElfW(Rela)), symtab, strtab, lo, hi,
                      relro_lo, relro_hi);
  }
  return 0;
}

uintptr_t BaseOf(const void* address) {
  Dl_info info;
  if (address == nullptr || dladdr(address, &info) == 0) return 0;
  // dli_fbase is the first segment's address; for a library linked at 0 (all of them,
  // and PIEs) that is the load bias dl_iterate_phdr reports.
  return reinterpret_cast<uintptr_t>(info.dli_fbase);
}

int ListObject(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<LoadedObjects*>(data);
  if (out->count == LoadedObjects::kMax) {
    out->overflowed = true;
    return 1;
  }
  out->bases[out->count++] = info->dlpi_addr;
  return 0;
}

}  // namespace

void ListLoadedObjects(LoadedObjects* out) {
  out->count = 0;
  out->overflowed = false;
  dl_iterate_phdr(ListObject, out);
}

int RebindAfterDeepbind(void* handle, const LoadedObjects& before, const void* self) {
  g_loads.fetch_add(1, std::memory_order_relaxed);
  Scan scan{};
  scan.handle = handle;
  scan.before = &before;
  scan.self_base = BaseOf(self);
  void* libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
  for (int i = 0; i < kNameCount; ++i) {
    Binding& b = scan.bindings[i];
    b.global = dlsym(RTLD_DEFAULT, kNames[i]);
    b.libc = libc != nullptr ? dlsym(libc, kNames[i]) : nullptr;
    b.next = dlsym(RTLD_NEXT, kNames[i]);
    if (b.next == b.global) b.next = nullptr;
  }
  scan.libc_base = BaseOf(scan.bindings[0].libc);
  dl_iterate_phdr(VisitObject, &scan);
  g_rebound.fetch_add(static_cast<uint64_t>(scan.rebound), std::memory_order_relaxed);
  return scan.rebound;
}

uint64_t DeepbindLoads() { return g_loads.load(std::memory_order_relaxed); }
uint64_t DeepbindReboundSlots() { return g_rebound.load(std::memory_order_relaxed); }

}  // namespace heapwarden::internal
