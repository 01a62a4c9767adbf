// module_table.cc: see module_table.h. Record side.
#include "record/track/module_table.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstring>

#include "record/track/cfi_unwinder.h"
#include "record/track/python_stack.h"
#include "record/base/mmap_arena.h"

namespace heapwarden::internal {
namespace {

MmapArena g_names;

const char* CopyName(const char* name) {
  size_t n = strlen(name);
  char* copy = static_cast<char*>(g_names.Allocate(n + 1));
  if (copy == nullptr) return "";
  memcpy(copy, name, n + 1);
  return copy;
}

}  // namespace

void ModuleTable::Init() {
  ssize_t n = readlink("/proc/self/exe", exe_path_, sizeof(exe_path_) - 1);
  exe_path_[n > 0 ? n : 0] = '\0';
  modules_ = static_cast<Module*>(MapPages(sizeof(Module) * kMaxModules, true));
  if (modules_ != nullptr) {
    modules_[kUnknownModule] = Module{0, 0, 0, nullptr, 0, ""};
    count_.store(1, std::memory_order_release);
  }
}

void ModuleTable::OnModulesUnloaded() {
  generation_.fetch_add(1, std::memory_order_relaxed);
  CfiInvalidateCache();
}

uint32_t ModuleTable::Resolve(uintptr_t pc) {
  // The top half of the address space is the kernel's: no module holds such an address.
  // A Python frame's id is stored that way (python_frame_table.h), and every frame of
  // a new Python stack is resolved here; without this each would scan every module.
  if (modules_ == nullptr || static_cast<intptr_t>(pc) < 0) return kUnknownModule;
  uint32_t generation = generation_.load(std::memory_order_relaxed);
  uint32_t count = count_.load(std::memory_order_relaxed);
  // Consecutive frames of a stack are usually in the same few modules.
  if (last_hit_ != kUnknownModule) {
    const Module& m = modules_[last_hit_];
    if (m.generation == generation && pc >= m.map_start && pc < m.map_end) return last_hit_;
  }
  for (uint32_t i = count; i-- > 1;) {
    const Module& m = modules_[i];
    if (m.generation == generation && pc >= m.map_start && pc < m.map_end) {
      last_hit_ = i;
      return i;
    }
  }
  dl_find_object found;
  if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0) return kUnknownModule;
  const link_map* map = found.dlfo_link_map;
  const char* name = map != nullptr && map->l_name != nullptr ? map->l_name : "";
  // The main program's link map has an empty name.
  if (name[0] == '\0' && map != nullptr && map->l_prev == nullptr) name = exe_path_;
  if (count >= kMaxModules) {
    // Full: an entry from an earlier generation with the same range and name is
    // almost certainly the same object.
    for (uint32_t i = count; i-- > 1;) {
      const Module& m = modules_[i];
      if (pc >= m.map_start && pc < m.map_end && strcmp(m.path, name) == 0) return i;
    }
    return kUnknownModule;
  }
  modules_[count] = Module{reinterpret_cast<uintptr_t>(found.dlfo_map_start),
                           reinterpret_cast<uintptr_t>(found.dlfo_map_end),
                           map != nullptr ? map->l_addr : 0,
                           map,
                           generation,
                           CopyName(name)};
  count_.store(count + 1, std::memory_order_release);
  last_hit_ = count;
  NotePythonCandidateModule(pc);  // a libpython loaded by dlopen shows up here first
  return count;
}

}  // namespace heapwarden::internal
