// python_stack.cc: see python_stack.h. Record side.
#include "record/track/python_stack.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>

#include <atomic>
#include <cstring>

#include "record/base/log.h"
#include "record/track/python_code_reader.h"
#include "record/track/python_frame_table.h"
#include "record/track/python_layout.h"
#include "record/track/stack_capture.h"

namespace heapwarden::internal {
namespace {

const PythonLayout* g_layout = nullptr;
const unsigned char* g_runtime = nullptr;  // &_PyRuntime
PythonTypes g_types{};
uintptr_t g_eval_start = 0;  // _PyEval_EvalFrameDefault
uintptr_t g_eval_end = 0;
// The interpreter's own module (the executable or libpython): its native frames
// between Python frames are the interpreter's calling glue.
uintptr_t g_interpreter_start = 0;
uintptr_t g_interpreter_end = 0;
// Set once everything above is written (release): readers on other threads that see
// true (acquire) see the layout and the symbols.
std::atomic<bool> g_active{false};
bool g_enabled = false;                   // python_frames=on at init
std::atomic<bool> g_runtime_seen{false};  // a _PyRuntime was found: never look again
std::atomic<bool> g_late_busy{false};

// Modules first seen after start-up (ModuleTable::Resolve): one of them may be a
// libpython loaded with dlopen. A code address inside each, looked at by the next
// allocation (LookForLateInterpreter). A full ring overwrites: a module missed there
// only means no Python frames, never wrong ones.
constexpr uint32_t kPendingSlots = 64;
std::atomic<uintptr_t> g_pending[kPendingSlots];
std::atomic<uint32_t> g_pending_next{0};

constexpr uint32_t kMaybeActive = 1;
constexpr uint32_t kMaybePending = 2;

std::atomic<uint64_t> g_mismatched{0};
std::atomic<uint64_t> g_unreadable{0};

// The thread state this thread last checked.
__thread uintptr_t t_checked_tstate;

// Objects already checked with SafeCopy (code objects; frames of generators and
// coroutines, tagged with bit 0): read directly from then on. An object reached from
// the running thread's frame chain is alive while that thread is in malloc, so an
// address checked once points at the same kind of object whenever the chain leads to it
// again. Shared by all threads, lock-free: a set of addresses, open addressing, a few
// probes; a full neighbourhood only means checking again.
constexpr uint32_t kCheckedSlots = 1u << 16;
constexpr int kCheckedProbes = 8;
std::atomic<uintptr_t> g_checked[kCheckedSlots];

bool WasChecked(uintptr_t key) {
  uint32_t slot = static_cast<uint32_t>((key >> 3) * 0x9e3779b1u) & (kCheckedSlots - 1);
  for (int i = 0; i < kCheckedProbes; ++i, slot = (slot + 1) & (kCheckedSlots - 1)) {
    const uintptr_t v = g_checked[slot].load(std::memory_order_relaxed);
    if (v == key) return true;
    if (v == 0) return false;
  }
  return false;
}

void NoteChecked(uintptr_t key) {
  uint32_t slot = static_cast<uint32_t>((key >> 3) * 0x9e3779b1u) & (kCheckedSlots - 1);
  for (int i = 0; i < kCheckedProbes; ++i, slot = (slot + 1) & (kCheckedSlots - 1)) {
    uintptr_t expected = 0;
    if (g_checked[slot].compare_exchange_strong(expected, key, std::memory_order_relaxed) ||
        expected == key) {
      return;
    }
  }
}

// Data stack chunks of the current thread: a frame inside one is read in place.
constexpr int kMaxChunks = 32;
struct Chunks {
  int count;
  uintptr_t start[kMaxChunks];
  uintptr_t end[kMaxChunks];
};

template <typename T>
T Load(uintptr_t address) {
  T value;
  memcpy(&value, reinterpret_cast<const void*>(address), sizeof(T));
  return value;
}

template <typename T>
T Field(const unsigned char* object, uint32_t offset) {
  T value;
  memcpy(&value, object + offset, sizeof(T));
  return value;
}

bool Aligned(uintptr_t p) { return p >= 4096 && p < (uintptr_t{1} << 47) && (p & 7) == 0; }

// A thread state seen for the first time: its fields and its interpreter's way back to
// _PyRuntime are read with SafeCopy before anything is read from it directly.
bool CheckThreadState(uintptr_t tstate) {
  const PythonLayout& l = *g_layout;
  unsigned char head[512];
  const uint32_t need = l.tstate_datastack_chunk + 8;
  if (need > sizeof(head) || !Aligned(tstate) || !SafeCopy(head, tstate, need)) return false;
  const uintptr_t interp = Field<uintptr_t>(head, l.tstate_interp);
  uintptr_t runtime = 0;
  if (!Aligned(interp) || !SafeCopy(&runtime, interp + l.interpreter_runtime, sizeof(runtime))) return false;
  return runtime == reinterpret_cast<uintptr_t>(g_runtime);
}

// A code object: its type is checked with one SafeCopy the first time it is met; a
// live frame keeps its code alive, so the answer holds while it runs.
bool CheckCode(uintptr_t code) {
  if (!Aligned(code)) return false;
  if (WasChecked(code)) return true;
  unsigned char head[256];
  const uint32_t need = g_layout->code_header_bytes;
  if (need > sizeof(head) || !SafeCopy(head, code, need)) return false;
  if (Field<uintptr_t>(head, g_layout->object_type) != g_types.code) return false;
  NoteChecked(code);
  return true;
}

bool ReadChunks(uintptr_t tstate, Chunks* chunks) {
  const PythonLayout& l = *g_layout;
  chunks->count = 0;
  uintptr_t chunk = Load<uintptr_t>(tstate + l.tstate_datastack_chunk);
  while (chunk != 0 && chunks->count < kMaxChunks) {
    if (!Aligned(chunk)) return false;
    const uintptr_t size = Load<uintptr_t>(chunk + l.chunk_size);
    if (size < l.chunk_data || size > (uintptr_t{1} << 32)) return false;
    chunks->start[chunks->count] = chunk + l.chunk_data;
    chunks->end[chunks->count] = chunk + size;
    ++chunks->count;
    chunk = Load<uintptr_t>(chunk + l.chunk_previous);
  }
  return true;
}

bool InChunks(const Chunks& chunks, uintptr_t p, uintptr_t bytes) {
  for (int i = 0; i < chunks.count; ++i) {
    if (p >= chunks.start[i] && p + bytes <= chunks.end[i]) return true;
  }
  return false;
}

bool IsEvalFrame(uintptr_t return_address) {
  // A return address follows its call: the call itself is a byte before.
  return !IsPythonFrame(return_address) && return_address - 1 >= g_eval_start &&
         return_address - 1 < g_eval_end;
}

uint64_t Mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}

// 3.13+: _PyRuntime starts with _Py_DebugOffsets (Include/internal/pycore_runtime.h):
// the cookie "xdebugpy", then uint64 fields. The indices below count those fields
// after the cookie, in the order of that header at v3.13.0. Returns the name of the
// first field that is not what the table says, or nullptr when all agree.
const char* DebugOffsetsDisagree(const PythonLayout& l, const void* runtime, uint32_t major_minor) {
  constexpr int kFields = 70;
  char cookie[8];
  uint64_t v[kFields];
  const auto base = reinterpret_cast<uintptr_t>(runtime);
  if (!SafeCopy(cookie, base, sizeof(cookie)) || memcmp(cookie, "xdebugpy", 8) != 0) return "cookie";
  if (!SafeCopy(v, base + sizeof(cookie), sizeof(v))) return "unreadable";
  struct Expect {
    int index;
    uint64_t value;
    const char* name;
  };
  const Expect expects[] = {
      {0, major_minor, "version"},  // PY_VERSION_HEX: compared on major.minor below
      {1, 0, "free_threaded"},
      {21, l.tstate_interp, "thread_state.interp"},
      {22, l.tstate_current_frame, "thread_state.current_frame"},
      {25, l.tstate_datastack_chunk, "thread_state.datastack_chunk"},
      {28, l.frame_previous, "interpreter_frame.previous"},
      {29, l.frame_code, "interpreter_frame.executable"},
      {30, l.frame_instr, "interpreter_frame.instr_ptr"},
      {31, l.frame_bytes, "interpreter_frame.localsplus"},
      {32, l.frame_owner, "interpreter_frame.owner"},
      {34, l.code_filename, "code_object.filename"},
      {35, l.code_name, "code_object.name"},
      {36, l.code_qualname, "code_object.qualname"},
      {37, l.code_linetable, "code_object.linetable"},
      {38, l.code_firstlineno, "code_object.firstlineno"},
      {42, l.code_bytecode, "code_object.co_code_adaptive"},
      {44, l.object_type, "pyobject.ob_type"},
      {64, l.var_size, "bytes_object.ob_size"},
      {65, l.bytes_data, "bytes_object.ob_sval"},
      {67, l.unicode_state, "unicode_object.state"},
      {68, l.unicode_length, "unicode_object.length"},
      {69, l.unicode_ascii_data, "unicode_object.asciiobject_size"},
  };
  for (const Expect& e : expects) {
    const uint64_t got = e.index == 0 ? (v[0] >> 16) & 0xffff : v[e.index];
    if (got != e.value) return e.name;
  }
  return nullptr;
}

// Looks for a CPython through `handle` (RTLD_DEFAULT at start-up, a module's link map
// later) and, when it is one this file knows, makes Python frames active. False when
// `handle` has no _PyRuntime.
bool TryInterpreter(void* handle) {
  void* runtime = dlsym(handle, "_PyRuntime");
  if (runtime == nullptr) return false;  // no CPython (yet): stacks stay native
  g_runtime_seen.store(true, std::memory_order_relaxed);
  const auto* version = static_cast<const unsigned long*>(dlsym(handle, "Py_Version"));
  if (version == nullptr) {
    Warn("this CPython is older than 3.11; heapwarden knows the frames of 3.11 to 3.13: Python stacks stay native");
    return true;
  }
  const uint32_t major_minor = static_cast<uint32_t>(*version >> 16) & 0xffff;
  for (const PythonLayout& layout : kPythonLayouts) {
    if (layout.version == major_minor) g_layout = &layout;
  }
  if (g_layout == nullptr) {
    Warn("CPython %u.%u: heapwarden knows the frames of 3.11 to 3.13; Python stacks stay native",
         major_minor >> 8, major_minor & 0xff);
    return true;
  }
  void* eval = dlsym(handle, "_PyEval_EvalFrameDefault");
  g_types.code = reinterpret_cast<uintptr_t>(dlsym(handle, "PyCode_Type"));
  g_types.unicode = reinterpret_cast<uintptr_t>(dlsym(handle, "PyUnicode_Type"));
  g_types.bytes = reinterpret_cast<uintptr_t>(dlsym(handle, "PyBytes_Type"));
  Dl_info info;
  ElfW(Sym)* symbol = nullptr;
  if (eval == nullptr || g_types.code == 0 || g_types.unicode == 0 || g_types.bytes == 0 ||
      dladdr1(eval, &info, reinterpret_cast<void**>(&symbol), RTLD_DL_SYMENT) == 0 ||
      symbol == nullptr || symbol->st_size == 0) {
    Warn("CPython found, but not the symbols heapwarden reads it with; Python stacks stay native");
    g_layout = nullptr;
    return true;
  }
  if (!InitSafeCopy()) {
    Warn("process_vm_readv is not allowed here; Python stacks stay native");
    g_layout = nullptr;
    return true;
  }
  if (g_layout->has_debug_offsets) {
    const char* field = DebugOffsetsDisagree(*g_layout, runtime, major_minor);
    if (field != nullptr) {
      Warn("CPython %u.%u: its _Py_DebugOffsets (%s) differ from heapwarden's table; Python stacks stay native",
           major_minor >> 8, major_minor & 0xff, field);
      g_layout = nullptr;
      return true;
    }
  }
  if (!InitPythonFrameTable(g_layout, g_types)) {
    Warn("cannot reserve the Python frame table; Python stacks stay native");
    g_layout = nullptr;
    return true;
  }
  g_runtime = static_cast<const unsigned char*>(runtime);
  g_eval_start = reinterpret_cast<uintptr_t>(eval);
  g_eval_end = g_eval_start + symbol->st_size;
  dl_find_object module;
  if (_dl_find_object(eval, &module) == 0) {
    g_interpreter_start = reinterpret_cast<uintptr_t>(module.dlfo_map_start);
    g_interpreter_end = reinterpret_cast<uintptr_t>(module.dlfo_map_end);
  }
  g_active.store(true, std::memory_order_release);
  g_python_maybe.fetch_or(kMaybeActive, std::memory_order_relaxed);
  return true;
}

// A module that appeared after start-up is running code (its address was on a stack),
// so it is loaded and relocated: a libpython among them is asked for _PyRuntime
// (through its link map, which dlsym takes as a handle, so a library opened RTLD_LOCAL
// is found too). Called on the allocation path with the recursion guard held and no
// heapwarden lock: dlsym takes the loader's lock and may allocate. One thread at a
// time; the others go on without.
void LookForLateInterpreter() {
  if (g_late_busy.exchange(true, std::memory_order_acquire)) return;
  g_python_maybe.fetch_and(~kMaybePending, std::memory_order_relaxed);
  for (uint32_t i = 0; i < kPendingSlots && !g_runtime_seen.load(std::memory_order_relaxed); ++i) {
    const uintptr_t pc = g_pending[i].exchange(0, std::memory_order_acquire);
    if (pc == 0) continue;
    dl_find_object found;
    if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 || found.dlfo_link_map == nullptr) continue;
    // Only libpython is asked: a dlsym that fails leaves its message for the program's
    // next dlerror(), which would then report heapwarden's lookup instead of its own.
    const char* name = found.dlfo_link_map->l_name;
    if (name == nullptr || strstr(name, "libpython") == nullptr) continue;
    TryInterpreter(found.dlfo_link_map);
  }
  g_late_busy.store(false, std::memory_order_release);
}

bool HasPending() { return (g_python_maybe.load(std::memory_order_relaxed) & kMaybePending) != 0; }

}  // namespace

std::atomic<uint32_t> g_python_maybe{0};

void InitPythonStacks(bool enabled) {
  g_enabled = enabled;
  if (enabled) TryInterpreter(RTLD_DEFAULT);
}

void NotePythonCandidateModule(uintptr_t pc) {
  if (!g_enabled || g_runtime_seen.load(std::memory_order_relaxed)) return;
  const uint32_t slot = g_pending_next.fetch_add(1, std::memory_order_relaxed) % kPendingSlots;
  g_pending[slot].store(pc, std::memory_order_release);
  g_python_maybe.fetch_or(kMaybePending, std::memory_order_release);
}

bool PythonStacksActive() { return g_active.load(std::memory_order_acquire); }

namespace {

bool ReadChain(PythonChain* chain) {
  if (!g_active.load(std::memory_order_acquire)) return false;
  const PythonLayout& l = *g_layout;
  // Before Py_Initialize and after Py_Finalize the key is not set up, and no thread
  // has frames.
  if (Field<int>(g_runtime, l.runtime_tss_initialized) == 0 ||
      Field<uintptr_t>(g_runtime, l.runtime_auto_interpreter) == 0) {
    return false;
  }
  const auto key = Field<pthread_key_t>(g_runtime, l.runtime_tss_key);
  const auto tstate = reinterpret_cast<uintptr_t>(pthread_getspecific(key));
  if (tstate == 0) return false;
  if (tstate != t_checked_tstate) {
    if (!CheckThreadState(tstate)) {
      g_unreadable.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    t_checked_tstate = tstate;
  }
  uintptr_t frame = Load<uintptr_t>(tstate + l.tstate_current_frame);
  if (l.cframe_current_frame != kNoCFrame) {  // 3.11, 3.12: through tstate->cframe
    if (!Aligned(frame)) return false;
    frame = Load<uintptr_t>(frame + l.cframe_current_frame);
  }
  if (frame == 0) return false;
  Chunks chunks;
  if (!ReadChunks(tstate, &chunks)) return false;
  uint64_t signature = 0x9e3779b97f4a7c15ull;
  int count = 0;
  while (frame != 0 && count < kMaxPythonFrames) {
    unsigned char copy[128];
    const unsigned char* f;
    if (!Aligned(frame) || l.frame_bytes > sizeof(copy)) return false;
    if (InChunks(chunks, frame, l.frame_bytes) || WasChecked(frame | 1)) {
      f = reinterpret_cast<const unsigned char*>(frame);
    } else if (SafeCopy(copy, frame, l.frame_bytes)) {  // a generator's or coroutine's frame
      f = copy;
      NoteChecked(frame | 1);
    } else {
      g_unreadable.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const uint8_t owner = Field<uint8_t>(f, l.frame_owner);
    if (owner == l.owner_cstack) {
      // 3.12+: the shim frame one evaluator call pushes below its first frame. It
      // closes a group, like 3.11's is_entry, and is itself never shown (its code is
      // the interpreter's trampoline, or None).
      chain->code[count] = 0;
      chain->instr[count] = -1;
      chain->entry[count] = true;
      signature = Mix(signature, 0x5111);
      ++count;
      frame = Field<uintptr_t>(f, l.frame_previous);
      continue;
    }
    const uintptr_t code = Field<uintptr_t>(f, l.frame_code);
    const uintptr_t prev_instr = Field<uintptr_t>(f, l.frame_instr);
    const uint8_t entry = l.frame_is_entry == kNoEntryFlag ? 0 : Field<uint8_t>(f, l.frame_is_entry);
    if (entry > 1 || !CheckCode(code)) {
      g_unreadable.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const int64_t units = Load<int64_t>(code + l.var_size);
    const int32_t first_traceable = Load<int32_t>(code + l.code_firsttraceable);
    const intptr_t offset = static_cast<intptr_t>(prev_instr - (code + l.code_bytecode));
    // Two bytes a code unit; -1 (prev_instr just before the code) is a frame that has
    // not started.
    if ((offset & 1) != 0 || offset < -2 || offset / 2 >= units) {
      g_unreadable.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    int32_t instr = static_cast<int32_t>(offset / 2);
    // Frames still copying their arguments in (before the first traceable
    // instruction) are left out, as CPython's own tracebacks leave them out.
    if (instr < 0 || (owner != l.owner_generator && instr < first_traceable)) instr = -1;
    chain->code[count] = code;
    chain->instr[count] = instr;
    chain->entry[count] = entry != 0;
    signature = Mix(signature, code ^ (static_cast<uint64_t>(static_cast<uint32_t>(instr)) << 48) ^
                                   (static_cast<uint64_t>(entry) << 47));
    ++count;
    frame = Field<uintptr_t>(f, l.frame_previous);
  }
  chain->count = count;
  chain->complete = frame == 0;
  chain->signature = Mix(signature, static_cast<uint64_t>(count));
  return count > 0;
}

}  // namespace

bool ReadPythonChain(PythonChain* chain) {
  if (!g_active.load(std::memory_order_acquire)) {
    if (!HasPending()) return false;
    LookForLateInterpreter();
  }
  return ReadChain(chain);
}

int MergePythonFrames(uintptr_t* frames, int depth, bool native_complete, const PythonChain& chain,
                      int max_depth) {
  uintptr_t out[kMaxFrames];
  if (max_depth > kMaxFrames) max_depth = kMaxFrames;
  int n = 0;
  int p = 0;  // next Python frame of the chain
  for (int i = 0; i < depth && n < max_depth; ++i) {
    if (!IsEvalFrame(frames[i])) {
      // Outside the innermost native frames, the interpreter's own frames between two
      // Python frames (PyObject_Vectorcall, _PyObject_MakeTpCall, ...) say nothing a
      // Python user can act on, and make every stack long: they are left out. Native
      // frames of other modules (an extension calling back into Python) stay.
      if (p > 0 && frames[i] >= g_interpreter_start && frames[i] < g_interpreter_end) continue;
      out[n++] = frames[i];
      continue;
    }
    if (p >= chain.count) {
      if (chain.complete) {  // an evaluation with no frames of its own: cannot match
        g_mismatched.fetch_add(1, std::memory_order_relaxed);
        return depth;
      }
      break;  // the chain was cut short: so is the stack, here
    }
    bool closed = false;
    while (p < chain.count) {
      const int k = p++;
      // Past `max_depth` the rest of the group is walked to its entry frame but not
      // looked up: nothing keeps those frames.
      if (chain.instr[k] >= 0 && n < max_depth) {
        const uint32_t id = InternPythonFrame(chain.code[k], chain.instr[k]);
        if (id == 0) {
          g_unreadable.fetch_add(1, std::memory_order_relaxed);
          return depth;
        }
        out[n++] = kPythonFrameTag | id;
      }
      if (chain.entry[k]) {
        closed = true;
        break;
      }
    }
    if (!closed) {
      if (chain.complete) {  // the outermost frame of a complete chain is always an entry
        g_mismatched.fetch_add(1, std::memory_order_relaxed);
        return depth;
      }
      break;
    }
  }
  // Frames of Python left over while the native stack was walked to its end: an
  // evaluation the walk did not recognise. Matching would shift every group.
  if (native_complete && chain.complete && p != chain.count && n < max_depth) {
    g_mismatched.fetch_add(1, std::memory_order_relaxed);
    return depth;
  }
  memcpy(frames, out, sizeof(uintptr_t) * static_cast<size_t>(n));
  return n;
}

int CaptureStackWithPython(uintptr_t* frames, int max_depth, uintptr_t caller) {
  PythonChain chain;
  // No look for a late interpreter here: the caller may hold a lock (the loader's lock,
  // which that look takes, must never be waited for under one of heapwarden's).
  if (max_depth <= 1 || !ReadChain(&chain)) return CaptureStack(frames, max_depth, caller);
  int depth = CaptureStack(frames, kMaxFrames, caller);
  depth = MergePythonFrames(frames, depth, depth < kMaxFrames, chain, max_depth);
  return depth < max_depth ? depth : max_depth;
}

PythonStackStats ReadPythonStackStats() {
  return PythonStackStats{g_mismatched.load(std::memory_order_relaxed),
                          g_unreadable.load(std::memory_order_relaxed)};
}

void PythonStacksAfterForkChild() {
  if (g_active.load(std::memory_order_relaxed) && !InitSafeCopy()) g_active.store(false, std::memory_order_relaxed);
  g_late_busy.store(false, std::memory_order_relaxed);  // the thread that held it is gone
  ResetPythonFrameTableAfterFork();
}

}  // namespace heapwarden::internal
