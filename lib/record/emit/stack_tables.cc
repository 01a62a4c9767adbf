// stack_tables.cc: see stack_tables.h. Record side.
#include "record/emit/stack_tables.h"

#include <cstring>

#include "record/base/mmap_arena.h"
#include "record/emit/json_buffer.h"
#include "record/track/module_table.h"
#include "record/track/python_frame_table.h"
#include "record/track/recorder.h"

namespace heapwarden::internal {
namespace {

// One distinct frame: a return address in a module (the module matters: after a
// dlclose another object may load at the same address), or a Python frame id.
struct FrameKey {
  uintptr_t frame;
  uint32_t module;
};

// Distinct frames in order of first use, with an open-addressing index over them.
// Both grow by doubling into fresh mmap'd pages.
class FrameIndex {
 public:
  FrameIndex() = default;
  ~FrameIndex() {
    if (slots_ != nullptr) UnmapPages(slots_, sizeof(uint32_t) * capacity_);
    if (keys_ != nullptr) UnmapPages(keys_, sizeof(FrameKey) * key_capacity_);
  }
  FrameIndex(const FrameIndex&) = delete;
  FrameIndex& operator=(const FrameIndex&) = delete;

  // The id of `key`, added when new; false when memory ran out.
  bool Intern(FrameKey key, uint32_t* id) {
    if ((count_ + 1) * 2 > capacity_ && !Grow()) return false;
    uint32_t slot = Find(key);
    if (slots_[slot] != 0) {
      *id = slots_[slot] - 1;
      return true;
    }
    if (count_ == key_capacity_ && !GrowKeys()) return false;
    keys_[count_] = key;
    slots_[slot] = ++count_;
    *id = count_ - 1;
    return true;
  }

  // The id of a key Intern() has seen.
  uint32_t IdOf(FrameKey key) const { return slots_[Find(key)] - 1; }

  uint32_t count() const { return count_; }
  const FrameKey& key(uint32_t id) const { return keys_[id]; }

 private:
  static uint64_t Hash(FrameKey key) {
    uint64_t h = (key.frame ^ (uint64_t{key.module} << 48)) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
  }

  uint32_t Find(FrameKey key) const {
    const uint32_t mask = capacity_ - 1;
    for (uint32_t slot = static_cast<uint32_t>(Hash(key)) & mask;; slot = (slot + 1) & mask) {
      const uint32_t entry = slots_[slot];
      if (entry == 0) return slot;
      const FrameKey& k = keys_[entry - 1];
      if (k.frame == key.frame && k.module == key.module) return slot;
    }
  }

  bool Grow() {
    const uint32_t capacity = capacity_ ? capacity_ * 2 : 4096;
    auto* slots = static_cast<uint32_t*>(MapPages(sizeof(uint32_t) * capacity));
    if (slots == nullptr) return false;
    if (slots_ != nullptr) UnmapPages(slots_, sizeof(uint32_t) * capacity_);
    slots_ = slots;
    capacity_ = capacity;
    for (uint32_t id = 0; id < count_; ++id) slots_[Find(keys_[id])] = id + 1;
    return true;
  }

  bool GrowKeys() {
    const uint32_t capacity = key_capacity_ ? key_capacity_ * 2 : 2048;
    auto* keys = static_cast<FrameKey*>(MapPages(sizeof(FrameKey) * capacity));
    if (keys == nullptr) return false;
    if (keys_ != nullptr) {
      memcpy(keys, keys_, sizeof(FrameKey) * count_);
      UnmapPages(keys_, sizeof(FrameKey) * key_capacity_);
    }
    keys_ = keys;
    key_capacity_ = capacity;
    return true;
  }

  uint32_t* slots_ = nullptr;  // 0: empty, else frame id + 1
  uint32_t capacity_ = 0;      // a power of two; at most half full
  FrameKey* keys_ = nullptr;
  uint32_t key_capacity_ = 0;
  uint32_t count_ = 0;
};

// A Python frame's key ignores the module the stack recorded for it (none).
FrameKey KeyOf(const Stack& st, uint32_t f) {
  return IsPythonFrame(st.frames[f]) ? FrameKey{st.frames[f], 0} : FrameKey{st.frames[f], st.modules[f]};
}

bool Wanted(const uint8_t* wanted, uint32_t id) {
  return wanted == nullptr || (wanted[id / 8] & (1u << (id % 8))) != 0;
}

// A module is named by its path; the unknown module (no path) is left out, and so is
// the "module" of a frame in it.
bool Named(const Module& m) { return m.path != nullptr && m.path[0] != '\0'; }

void WriteFrame(JsonBuffer& j, const ModuleTable& modules, uint32_t module_count,
                const FrameKey& key, uint32_t id) {
  j.BeginObject();
  j.Uint("id", id);
  if (IsPythonFrame(key.frame)) {
    // Named at record time (python_frame_table.h), so no address.
    const PythonFrameInfo* info = PythonFrameAt(PythonFrameId(key.frame));
    j.String("kind", "python");
    j.String("function", info != nullptr ? info->function : "??");
    j.String("file", info != nullptr ? info->file : "??");
    j.Int("line", info != nullptr ? info->line : 0);
  } else {
    const Module& m = modules.at(key.module);
    j.String("kind", "native");
    if (key.module < module_count && Named(m)) j.Uint("module", key.module);
    j.Hex("address", key.frame);
    j.Uint("offset", key.frame - m.load_bias);
  }
  j.EndObject();
}

}  // namespace

bool WriteStackTablesJson(JsonBuffer& j, Recorder& r, uint32_t stack_count, bool include_zero,
                          const uint8_t* wanted) {
  SiteTable& sites = r.sites();
  const ModuleTable& modules = r.modules();
  // Read after the caller read stack_count: a stack's modules are added before the
  // stack is published, so every module of those stacks is below this count.
  const uint32_t module_count =
      modules.size() < ModuleTable::kMaxModules ? modules.size() : ModuleTable::kMaxModules;
  const uint32_t first = include_zero ? 0 : 1;

  // First pass: every distinct frame, and the modules they are in.
  FrameIndex index;
  uint8_t used_modules[ModuleTable::kMaxModules / 8] = {};
  for (uint32_t id = first; id < stack_count; ++id) {
    if (!Wanted(wanted, id)) continue;
    const Stack& st = sites.stack(id);
    for (uint32_t f = 0; f < st.depth; ++f) {
      const FrameKey key = KeyOf(st, f);
      uint32_t frame_id;
      if (!index.Intern(key, &frame_id)) return false;
      if (!IsPythonFrame(key.frame) && key.module < module_count) {
        used_modules[key.module / 8] |= static_cast<uint8_t>(1u << (key.module % 8));
      }
    }
  }

  j.BeginArray("modules");
  for (uint32_t m = 0; m < module_count; ++m) {
    if ((used_modules[m / 8] & (1u << (m % 8))) == 0 || !Named(modules.at(m))) continue;
    j.BeginObject();
    j.Uint("id", m);
    j.String("path", modules.at(m).path);
    j.EndObject();
  }
  j.EndArray();

  j.BeginArray("frames");
  for (uint32_t id = 0; id < index.count(); ++id) WriteFrame(j, modules, module_count, index.key(id), id);
  j.EndArray();

  j.BeginArray("stacks");
  for (uint32_t id = first; id < stack_count; ++id) {
    if (!Wanted(wanted, id)) continue;
    const Stack& st = sites.stack(id);
    j.BeginObject();
    j.Uint("id", id);
    j.BeginArray("frames");
    for (uint32_t f = 0; f < st.depth; ++f) j.Uint(nullptr, index.IdOf(KeyOf(st, f)));
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  return true;
}

}  // namespace heapwarden::internal
