// python_frame_table.cc: see python_frame_table.h. Record side.
#include "record/track/python_frame_table.h"

#include <atomic>
#include <cstring>

#include "record/base/mmap_arena.h"
#include "record/base/spin_lock.h"

namespace heapwarden::internal {
namespace {

// What identifies "this instruction of this code object": the code's address alone
// could be reused by another code object once the first is freed, so the pointers to
// its names and line table, and its first line, are compared too.
struct RawKey {
  uintptr_t code;
  uintptr_t qualname;
  uintptr_t filename;
  uintptr_t linetable;
  int32_t first_line;
  int32_t instr;
  bool operator==(const RawKey& o) const {
    return code == o.code && qualname == o.qualname && filename == o.filename &&
           linetable == o.linetable && first_line == o.first_line && instr == o.instr;
  }
};

struct RawEntry {
  RawKey key;
  uint32_t id;
};

struct StringEntry {
  uint64_t hash;
  const char* text;
};

constexpr uint32_t kMaxRaw = 1u << 18;
constexpr uint32_t kRawSlots = kMaxRaw * 2;
constexpr uint32_t kMaxFrames = 1u << 17;
constexpr uint32_t kFrameSlots = kMaxFrames * 2;
constexpr uint32_t kMaxStrings = 1u << 16;
constexpr uint32_t kStringSlots = kMaxStrings * 2;

const PythonLayout* g_layout = nullptr;
PythonTypes g_types{};
SpinLock g_lock;
MmapArena g_strings;

RawEntry* g_raw = nullptr;
std::atomic<uint32_t>* g_raw_index = nullptr;  // 0 empty, else entry index + 1
uint32_t g_raw_count = 0;                      // under g_lock

PythonFrameInfo* g_frames = nullptr;  // id 0 unused
uint32_t* g_frame_index = nullptr;    // under g_lock; 0 empty, else id
std::atomic<uint32_t> g_frame_count{1};

StringEntry* g_string_entries = nullptr;
uint32_t* g_string_index = nullptr;  // under g_lock; 0 empty, else entry index + 1
uint32_t g_string_count = 0;

uint64_t Mix(uint64_t h) {
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

uint64_t HashRaw(const RawKey& k) {
  uint64_t h = Mix(k.code ^ (static_cast<uint64_t>(static_cast<uint32_t>(k.instr)) << 47));
  h = Mix(h ^ k.qualname ^ (k.filename << 7));
  return Mix(h ^ k.linetable ^ static_cast<uint32_t>(k.first_line));
}

uint64_t HashText(const char* s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ull;
  return Mix(h);
}

// The one copy of this text, or nullptr when full. Under g_lock.
const char* InternString(const char* s, size_t n) {
  const uint64_t hash = HashText(s, n);
  uint32_t slot = static_cast<uint32_t>(hash) & (kStringSlots - 1);
  for (;; slot = (slot + 1) & (kStringSlots - 1)) {
    uint32_t e = g_string_index[slot];
    if (e == 0) break;
    const StringEntry& entry = g_string_entries[e - 1];
    if (entry.hash == hash && strncmp(entry.text, s, n) == 0 && entry.text[n] == '\0') return entry.text;
  }
  if (g_string_count >= kMaxStrings) return nullptr;
  char* copy = static_cast<char*>(g_strings.Allocate(n + 1));
  if (copy == nullptr) return nullptr;
  memcpy(copy, s, n);
  copy[n] = '\0';
  g_string_entries[g_string_count] = StringEntry{hash, copy};
  g_string_index[slot] = ++g_string_count;
  return copy;
}

// The id of (function, file, line), the strings being interned. Under g_lock.
uint32_t InternResolved(const char* function, const char* file, int32_t line) {
  const uint64_t hash = Mix(reinterpret_cast<uintptr_t>(function) ^
                            Mix(reinterpret_cast<uintptr_t>(file) ^ static_cast<uint32_t>(line)));
  uint32_t slot = static_cast<uint32_t>(hash) & (kFrameSlots - 1);
  for (;; slot = (slot + 1) & (kFrameSlots - 1)) {
    uint32_t id = g_frame_index[slot];
    if (id == 0) break;
    const PythonFrameInfo& f = g_frames[id];
    if (f.function == function && f.file == file && f.line == line) return id;
  }
  uint32_t id = g_frame_count.load(std::memory_order_relaxed);
  if (id >= kMaxFrames) return 0;
  g_frames[id] = PythonFrameInfo{function, file, line};
  g_frame_count.store(id + 1, std::memory_order_release);
  g_frame_index[slot] = id;
  return id;
}

// Reads the code object's names and line: the slow path, once per raw key.
uint32_t Resolve(const RawKey& key) {
  char text[1024];
  size_t n;
  const char* function = nullptr;
  if (ReadPythonString(*g_layout, g_types, key.qualname, text, sizeof(text), &n)) {
    function = InternString(text, n);
  }
  if (function == nullptr) return 0;
  const char* file = nullptr;
  if (ReadPythonString(*g_layout, g_types, key.filename, text, sizeof(text), &n)) {
    file = InternString(text, n);
  }
  if (file == nullptr) return 0;
  const int line = PythonLineOf(*g_layout, g_types, key.linetable, key.first_line, key.instr);
  if (line < 0) return 0;
  return InternResolved(function, file, line);
}

template <typename T>
T* Reserve(size_t count) {
  return static_cast<T*>(MapPages(sizeof(T) * count, /*reserve_only=*/true));
}

}  // namespace

bool InitPythonFrameTable(const PythonLayout* layout, const PythonTypes& types) {
  g_layout = layout;
  g_types = types;
  if (g_raw != nullptr) return true;
  g_raw = Reserve<RawEntry>(kMaxRaw);
  g_raw_index = Reserve<std::atomic<uint32_t>>(kRawSlots);
  g_frames = Reserve<PythonFrameInfo>(kMaxFrames);
  g_frame_index = Reserve<uint32_t>(kFrameSlots);
  g_string_entries = Reserve<StringEntry>(kMaxStrings);
  g_string_index = Reserve<uint32_t>(kStringSlots);
  return g_raw && g_raw_index && g_frames && g_frame_index && g_string_entries && g_string_index;
}

uint32_t InternPythonFrame(uintptr_t code, int32_t instr) {
  if (g_raw == nullptr) return 0;
  const auto* object = reinterpret_cast<const unsigned char*>(code);
  RawKey key;
  key.code = code;
  memcpy(&key.qualname, object + g_layout->code_qualname, sizeof(uintptr_t));
  memcpy(&key.filename, object + g_layout->code_filename, sizeof(uintptr_t));
  memcpy(&key.linetable, object + g_layout->code_linetable, sizeof(uintptr_t));
  memcpy(&key.first_line, object + g_layout->code_firstlineno, sizeof(int32_t));
  key.instr = instr;
  const uint64_t hash = HashRaw(key);
  uint32_t slot = static_cast<uint32_t>(hash) & (kRawSlots - 1);
  for (;; slot = (slot + 1) & (kRawSlots - 1)) {
    uint32_t e = g_raw_index[slot].load(std::memory_order_acquire);
    if (e == 0) break;
    if (g_raw[e - 1].key == key) return g_raw[e - 1].id;
  }
  SpinLockHolder hold(g_lock);
  // Another thread may have added it meanwhile; then carry on probing from here.
  for (;; slot = (slot + 1) & (kRawSlots - 1)) {
    uint32_t e = g_raw_index[slot].load(std::memory_order_relaxed);
    if (e == 0) break;
    if (g_raw[e - 1].key == key) return g_raw[e - 1].id;
  }
  if (g_raw_count >= kMaxRaw) return 0;
  const uint32_t id = Resolve(key);
  if (id == 0) return 0;
  g_raw[g_raw_count] = RawEntry{key, id};
  g_raw_index[slot].store(++g_raw_count, std::memory_order_release);
  return id;
}

const PythonFrameInfo* PythonFrameAt(uint32_t id) {
  if (id == 0 || id >= g_frame_count.load(std::memory_order_acquire)) return nullptr;
  return &g_frames[id];
}

uint32_t PythonFrameCount() { return g_frame_count.load(std::memory_order_acquire) - 1; }

uint64_t PythonFrameTableMappedBytes() {
  if (g_raw == nullptr) return 0;
  return g_strings.mapped_bytes() + uint64_t{g_raw_count} * sizeof(RawEntry) +
         uint64_t{PythonFrameCount()} * sizeof(PythonFrameInfo) + uint64_t{kRawSlots} * 4 / 8;
}

// Unchecked by -Wthread-safety: the lock is held across the fork, by design.
void LockPythonFrameTable() ABSL_NO_THREAD_SAFETY_ANALYSIS { g_lock.Lock(); }
void UnlockPythonFrameTable() ABSL_NO_THREAD_SAFETY_ANALYSIS { g_lock.Unlock(); }
void ResetPythonFrameTableAfterFork() {
  g_lock.ResetAfterFork();
  g_strings.ResetAfterFork();
}

}  // namespace heapwarden::internal
