// module_table.h: which loaded object (executable or shared library) a code address
// belongs to, remembered for good so that a plugin unloaded by dlclose still
// symbolizes at exit.
// Hot path: _dl_find_object (glibc >= 2.35) is lock-free and does not allocate;
// names are copied into an mmap arena. Entries are append-only.
#ifndef HEAPWARDEN_LIB_RECORD_TRACK_MODULE_TABLE_H_
#define HEAPWARDEN_LIB_RECORD_TRACK_MODULE_TABLE_H_

#include <atomic>
#include <cstdint>

namespace heapwarden::internal {

struct Module {
  uintptr_t map_start;
  uintptr_t map_end;
  uintptr_t load_bias;  // l_addr: address minus load_bias is the ELF virtual address
  const void* link_map;
  uint32_t generation;
  const char* path;  // "" when unknown
};

class ModuleTable {
 public:
  static constexpr uint32_t kUnknownModule = 0;
  static constexpr uint32_t kMaxModules = 16384;

  // Remembers the executable's path (l_name is empty for it). Record side, at init.
  void Init();

  // Index of the module containing `pc`, adding it if new; kUnknownModule for an
  // address outside every loaded object. Callers serialise (the site table's insert
  // lock); readers of existing entries need no lock.
  uint32_t Resolve(uintptr_t pc);

  // Called after every dlclose: a new object may now occupy the old one's addresses.
  // The unwinder's cached rules are dropped too.
  void OnModulesUnloaded();

  uint32_t size() const { return count_.load(std::memory_order_acquire); }
  const Module& at(uint32_t index) const { return modules_[index]; }

 private:
  char exe_path_[4096] = {};
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint32_t> count_{0};
  uint32_t last_hit_ = 0;
  Module* modules_ = nullptr;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_TRACK_MODULE_TABLE_H_
