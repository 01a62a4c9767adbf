// cfi_unwinder.cc: see cfi_unwinder.h. Record side.
#include "record/track/cfi_unwinder.h"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstring>

#include "record/track/walk_cache.h"
#include "record/base/mmap_arena.h"
#include "record/base/thread_state.h"

namespace heapwarden::internal {
namespace {

// DWARF register numbers on x86-64.
constexpr uint32_t kRegRbp = 6;
constexpr uint32_t kRegRsp = 7;
constexpr uint32_t kRegRa = 16;

// What it takes to step out of one frame.
enum RuleKind : uint32_t {
  kRuleEmpty = 0,     // not computed (a cache slot being filled)
  kRuleRsp = 1,       // CFA = rsp + cfa_offset
  kRuleRbp = 2,       // CFA = rbp + cfa_offset
  kRuleEnd = 3,       // the return address is undefined: the outermost frame
  kRuleUnsupported = 4,
};

struct Rule {
  RuleKind kind;
  int32_t cfa_offset;
  int16_t rbp_offset;  // where rbp was saved, relative to the CFA; 0: rbp unchanged
};

// A rule in one word, so a cache slot is published with one atomic store:
// kind (3 bits) | cfa_offset (32) | rbp_offset (16) | generation (13).
uint64_t Encode(const Rule& r, uint32_t generation) {
  return uint64_t{r.kind} | (uint64_t{static_cast<uint32_t>(r.cfa_offset)} << 3) |
         (uint64_t{static_cast<uint16_t>(r.rbp_offset)} << 35) |
         (uint64_t{generation & 0x1fff} << 51);
}

Rule Decode(uint64_t v) {
  return Rule{static_cast<RuleKind>(v & 7), static_cast<int32_t>(static_cast<uint32_t>(v >> 3)),
              static_cast<int16_t>(static_cast<uint16_t>(v >> 35))};
}

uint32_t GenerationOf(uint64_t v) { return static_cast<uint32_t>(v >> 51); }

// ---- Reading .eh_frame -------------------------------------------------------------

class Reader {
 public:
  explicit Reader(const uint8_t* p) : p_(p) {}
  const uint8_t* position() const { return p_; }
  void Skip(uint64_t n) { p_ += n; }
  uint8_t U8() { return *p_++; }
  uint16_t U16() { uint16_t v; memcpy(&v, p_, 2); p_ += 2; return v; }
  uint32_t U32() { uint32_t v; memcpy(&v, p_, 4); p_ += 4; return v; }
  uint64_t U64() { uint64_t v; memcpy(&v, p_, 8); p_ += 8; return v; }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = *p_++;
      if (shift < 64) v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  int64_t Sleb() {
    int64_t v = 0;
    int shift = 0;
    uint8_t b;
    do {
      b = *p_++;
      if (shift < 64) v |= int64_t{b & 0x7f} << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -(int64_t{1} << shift);
    return v;
  }
  const char* CString() {
    const char* s = reinterpret_cast<const char*>(p_);
    p_ += strlen(s) + 1;
    return s;
  }
  // A DW_EH_PE-encoded pointer. `data_base` serves datarel. False if unsupported.
  bool Encoded(uint8_t encoding, uintptr_t data_base, uintptr_t* out) {
    if (encoding == 0xff) return false;  // DW_EH_PE_omit
    const uintptr_t field = reinterpret_cast<uintptr_t>(p_);
    uintptr_t value;
    switch (encoding & 0x0f) {
      case 0x00: value = U64(); break;
      case 0x01: value = Uleb(); break;
      case 0x02: value = U16(); break;
      case 0x03: value = U32(); break;
      case 0x04: value = U64(); break;
      case 0x09: value = static_cast<uintptr_t>(Sleb()); break;
      case 0x0a: value = static_cast<uintptr_t>(static_cast<int64_t>(static_cast<int16_t>(U16()))); break;
      case 0x0b: value = static_cast<uintptr_t>(static_cast<int64_t>(static_cast<int32_t>(U32()))); break;
      case 0x0c: value = U64(); break;
      default: return false;
    }
    switch (encoding & 0x70) {
      case 0x00: break;
      case 0x10: value += field; break;      // pcrel
      case 0x30: value += data_base; break;  // datarel
      default: return false;
    }
    if (encoding & 0x80) return false;  // indirect: not used for FDE ranges
    *out = value;
    return true;
  }

 private:
  const uint8_t* p_;
};

// The part of the CFA state this walker follows.
struct CfaState {
  uint32_t cfa_reg = kRegRsp;
  int64_t cfa_offset = 8;
  bool rbp_saved = false;
  int64_t rbp_offset = 0;
  bool ra_undefined = false;
  int64_t ra_offset = -8;
  bool unsupported = false;
};

// Runs CFA instructions in [p, end) until the location passes `target`.
void Execute(Reader r, const uint8_t* end, uint64_t code_align, int64_t data_align,
             uintptr_t loc, uintptr_t target, const CfaState& initial, CfaState* s) {
  CfaState stack[8];
  int depth = 0;
  while (r.position() < end && !s->unsupported) {
    uint8_t op = r.U8();
    uint8_t high = op & 0xc0;
    uint8_t low = op & 0x3f;
    if (high == 0x40) {  // DW_CFA_advance_loc
      loc += low * code_align;
      if (loc > target) return;
      continue;
    }
    auto set_offset = [&](uint64_t reg, int64_t offset) {
      if (reg == kRegRbp) {
        s->rbp_saved = true;
        s->rbp_offset = offset;
      } else if (reg == kRegRa) {
        s->ra_undefined = false;
        s->ra_offset = offset;
      }
    };
    auto restore = [&](uint64_t reg) {
      if (reg == kRegRbp) {
        s->rbp_saved = initial.rbp_saved;
        s->rbp_offset = initial.rbp_offset;
      } else if (reg == kRegRa) {
        s->ra_undefined = initial.ra_undefined;
        s->ra_offset = initial.ra_offset;
      }
    };
    auto unsupported_for = [&](uint64_t reg) {
      if (reg == kRegRbp || reg == kRegRa || reg == kRegRsp) s->unsupported = true;
    };
    if (high == 0x80) {  // DW_CFA_offset
      set_offset(low, static_cast<int64_t>(r.Uleb()) * data_align);
      continue;
    }
    if (high == 0xc0) {  // DW_CFA_restore
      restore(low);
      continue;
    }
    switch (op) {
      case 0x00: break;  // nop
      case 0x01: {       // set_loc
        uintptr_t to;
        if (!r.Encoded(0x00, 0, &to)) s->unsupported = true;
        loc = to;
        if (loc > target) return;
        break;
      }
      case 0x02: loc += r.U8() * code_align; if (loc > target) return; break;
      case 0x03: loc += r.U16() * code_align; if (loc > target) return; break;
      case 0x04: loc += r.U32() * code_align; if (loc > target) return; break;
      case 0x05: { uint64_t reg = r.Uleb(); set_offset(reg, static_cast<int64_t>(r.Uleb()) * data_align); break; }
      case 0x06: restore(r.Uleb()); break;
      case 0x07: {  // undefined
        uint64_t reg = r.Uleb();
        if (reg == kRegRa) s->ra_undefined = true;
        else unsupported_for(reg);
        break;
      }
      case 0x08: {  // same_value
        uint64_t reg = r.Uleb();
        if (reg == kRegRbp) s->rbp_saved = false;
        else unsupported_for(reg);
        break;
      }
      case 0x09: { uint64_t reg = r.Uleb(); r.Uleb(); unsupported_for(reg); break; }  // register
      case 0x0a:  // remember_state
        if (depth == 8) { s->unsupported = true; break; }
        stack[depth++] = *s;
        break;
      case 0x0b:  // restore_state
        if (depth == 0) { s->unsupported = true; break; }
        *s = stack[--depth];
        break;
      case 0x0c:  // def_cfa
        s->cfa_reg = static_cast<uint32_t>(r.Uleb());
        s->cfa_offset = static_cast<int64_t>(r.Uleb());
        break;
      case 0x0d: s->cfa_reg = static_cast<uint32_t>(r.Uleb()); break;
      case 0x0e: s->cfa_offset = static_cast<int64_t>(r.Uleb()); break;
      case 0x0f: s->unsupported = true; break;  // def_cfa_expression
      case 0x10: {  // expression
        uint64_t reg = r.Uleb();
        r.Skip(r.Uleb());
        unsupported_for(reg);
        break;
      }
      case 0x11: { uint64_t reg = r.Uleb(); set_offset(reg, r.Sleb() * data_align); break; }
      case 0x12:  // def_cfa_sf
        s->cfa_reg = static_cast<uint32_t>(r.Uleb());
        s->cfa_offset = r.Sleb() * data_align;
        break;
      case 0x13: s->cfa_offset = r.Sleb() * data_align; break;
      case 0x14: case 0x15: { uint64_t reg = r.Uleb(); if (op == 0x14) r.Uleb(); else r.Sleb(); unsupported_for(reg); break; }
      case 0x16: { uint64_t reg = r.Uleb(); r.Skip(r.Uleb()); unsupported_for(reg); break; }
      case 0x2e: r.Uleb(); break;  // GNU_args_size
      case 0x2f: { uint64_t reg = r.Uleb(); set_offset(reg, -static_cast<int64_t>(r.Uleb()) * data_align); break; }
      default: s->unsupported = true; break;
    }
  }
}

Rule Unsupported() { return Rule{kRuleUnsupported, 0, 0}; }

// Finds the FDE covering `pc` through the object's .eh_frame_hdr and derives the rule.
Rule ComputeRule(uintptr_t pc) {
  dl_find_object obj;
  if (_dl_find_object(reinterpret_cast<void*>(pc), &obj) != 0 || obj.dlfo_eh_frame == nullptr) {
    return Unsupported();
  }
  const auto* hdr = static_cast<const uint8_t*>(obj.dlfo_eh_frame);
  const uintptr_t hdr_base = reinterpret_cast<uintptr_t>(hdr);
  Reader h(hdr);
  if (h.U8() != 1) return Unsupported();
  uint8_t frame_ptr_enc = h.U8();
  uint8_t count_enc = h.U8();
  uint8_t table_enc = h.U8();
  uintptr_t eh_frame, count;
  if (!h.Encoded(frame_ptr_enc, hdr_base, &eh_frame) || !h.Encoded(count_enc, hdr_base, &count)) {
    return Unsupported();
  }
  if (table_enc != 0x3b || count == 0) return Unsupported();  // datarel|sdata4: what ld emits
  const uint8_t* table = h.position();
  auto entry = [&](uintptr_t i, int field) {
    int32_t v;
    memcpy(&v, table + i * 8 + static_cast<uintptr_t>(field) * 4, 4);
    return hdr_base + static_cast<uintptr_t>(static_cast<intptr_t>(v));
  };
  uintptr_t lo = 0, hi = count;
  while (hi - lo > 1) {
    uintptr_t mid = lo + (hi - lo) / 2;
    if (entry(mid, 0) <= pc) lo = mid; else hi = mid;
  }
  if (entry(lo, 0) > pc) return Unsupported();
  const auto* fde = reinterpret_cast<const uint8_t*>(entry(lo, 1));

  Reader f(fde);
  uint32_t fde_len = f.U32();
  if (fde_len == 0 || fde_len == 0xffffffffu) return Unsupported();
  const uint8_t* fde_end = fde + 4 + fde_len;
  const uint8_t* cie_field = f.position();
  uint32_t cie_offset = f.U32();
  const uint8_t* cie = cie_field - cie_offset;

  Reader c(cie);
  uint32_t cie_len = c.U32();
  if (cie_len == 0 || cie_len == 0xffffffffu) return Unsupported();
  const uint8_t* cie_end = cie + 4 + cie_len;
  if (c.U32() != 0) return Unsupported();  // not a CIE
  uint8_t version = c.U8();
  const char* aug = c.CString();
  if (strstr(aug, "eh") != nullptr) c.Skip(8);
  uint64_t code_align = c.Uleb();
  int64_t data_align = c.Sleb();
  uint64_t ra_reg = version == 1 ? c.U8() : c.Uleb();
  if (ra_reg != kRegRa) return Unsupported();
  uint8_t fde_enc = 0x00;
  const uint8_t* cie_insns = nullptr;
  if (aug[0] == 'z') {
    uint64_t aug_len = c.Uleb();
    const uint8_t* aug_end = c.position() + aug_len;
    for (const char* a = aug + 1; *a; ++a) {
      if (*a == 'R') {
        fde_enc = c.U8();
      } else if (*a == 'P') {
        uint8_t enc = c.U8();
        uintptr_t ignored;
        if (!c.Encoded(enc & 0x7f, 0, &ignored)) return Unsupported();
      } else if (*a == 'L') {
        c.U8();
      } else if (*a == 'S') {
        return Unsupported();  // a signal frame: its registers are in a ucontext
      } else {
        break;
      }
    }
    cie_insns = aug_end;
  } else if (aug[0] == '\0') {
    cie_insns = c.position();
  } else {
    return Unsupported();
  }

  uintptr_t pc_begin, pc_range;
  if (!f.Encoded(fde_enc, 0, &pc_begin) || !f.Encoded(fde_enc & 0x0f, 0, &pc_range)) {
    return Unsupported();
  }
  if (pc < pc_begin || pc >= pc_begin + pc_range) return Unsupported();
  if (aug[0] == 'z') f.Skip(f.Uleb());

  CfaState initial;
  Execute(Reader(cie_insns), cie_end, code_align, data_align, 0, UINTPTR_MAX, initial, &initial);
  CfaState state = initial;
  Execute(f, fde_end, code_align, data_align, pc_begin, pc, initial, &state);

  if (state.unsupported) return Unsupported();
  if (state.ra_undefined) return Rule{kRuleEnd, 0, 0};
  if (state.ra_offset != -8) return Unsupported();
  if (state.cfa_reg != kRegRsp && state.cfa_reg != kRegRbp) return Unsupported();
  if (state.cfa_offset < 0 || state.cfa_offset > INT32_MAX) return Unsupported();
  if (state.rbp_saved && (state.rbp_offset == 0 || state.rbp_offset < INT16_MIN || state.rbp_offset > INT16_MAX)) {
    return Unsupported();
  }
  return Rule{state.cfa_reg == kRegRsp ? kRuleRsp : kRuleRbp, static_cast<int32_t>(state.cfa_offset),
              static_cast<int16_t>(state.rbp_saved ? state.rbp_offset : 0)};
}

// ---- The rule cache ------------------------------------------------------------------

struct Slot {
  std::atomic<uint64_t> pc;
  std::atomic<uint64_t> rule;
};

constexpr int kCacheBits = 18;
constexpr size_t kCacheSlots = size_t{1} << kCacheBits;
constexpr int kMaxProbes = 16;

std::atomic<Slot*> g_cache{nullptr};
std::atomic<uint32_t> g_generation{1};

Slot* Cache() {
  Slot* cache = g_cache.load(std::memory_order_acquire);
  if (cache != nullptr) return cache;
  auto* fresh = static_cast<Slot*>(MapPages(sizeof(Slot) * kCacheSlots, /*reserve_only=*/true));
  if (fresh == nullptr) return nullptr;
  if (!g_cache.compare_exchange_strong(cache, fresh)) {
    UnmapPages(fresh, sizeof(Slot) * kCacheSlots);
    return cache;
  }
  return fresh;
}

// Slots are claimed once per pc (pc 0 -> pc) and their rule replaced when stale; a
// reader that sees the pc but not yet the rule computes the rule itself.
Rule LookupShared(uintptr_t pc, uint32_t generation) {
  Slot* cache = Cache();
  if (cache == nullptr) return ComputeRule(pc);
  size_t index = static_cast<size_t>((pc * 0x9e3779b97f4a7c15ull) >> (64 - kCacheBits));
  for (int probe = 0; probe < kMaxProbes; ++probe, index = (index + 1) & (kCacheSlots - 1)) {
    Slot& slot = cache[index];
    uint64_t key = slot.pc.load(std::memory_order_acquire);
    if (key == 0) {
      uint64_t expected = 0;
      Rule rule = ComputeRule(pc);
      if (slot.pc.compare_exchange_strong(expected, pc, std::memory_order_acq_rel) || expected == pc) {
        slot.rule.store(Encode(rule, generation), std::memory_order_release);
      }
      return rule;
    }
    if (key != pc) continue;
    uint64_t value = slot.rule.load(std::memory_order_acquire);
    if ((value & 7) != kRuleEmpty && GenerationOf(value) == generation) return Decode(value);
    Rule rule = ComputeRule(pc);
    slot.rule.store(Encode(rule, generation), std::memory_order_release);
    return rule;
  }
  return ComputeRule(pc);
}

// The thread's own recent rules first (walk_cache.h): the shared table is large
// enough that most of its lookups miss the processor's caches.
Rule Lookup(uintptr_t pc) {
  const uint32_t generation = g_generation.load(std::memory_order_relaxed) & 0x1fff;
  RuleCacheEntry* near = ThreadRuleSlot(pc);
  if (near != nullptr && near->pc == pc && GenerationOf(near->rule) == generation) {
    return Decode(near->rule);
  }
  const Rule rule = LookupShared(pc, generation);
  if (near != nullptr) {
    near->pc = pc;
    near->rule = Encode(rule, generation);
  }
  return rule;
}

// The top of the calling thread's stack, found once per thread. Reading through
// pthread_getattr_np may allocate (served untracked under the recursion guard).
uintptr_t StackTop() {
  if (t_state.stack_top != 0) return t_state.stack_top;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* base = nullptr;
  size_t size = 0;
  int err = pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  if (err != 0 || base == nullptr) return 0;
  t_state.stack_top = reinterpret_cast<uintptr_t>(base) + size;
  return t_state.stack_top;
}

constexpr int kMaxOwnFrames = 16;

}  // namespace

void CfiInvalidateCache() { g_generation.fetch_add(1, std::memory_order_relaxed); }

namespace {

// One frame's registers as the walk sees them: pc (a return address, except at the
// start of a walk from inside this function), its stack pointer and frame pointer.
struct WalkState {
  uintptr_t pc;
  uintptr_t sp;
  uintptr_t bp;
  uintptr_t bp_slot;  // where stepping out of this frame read the caller's bp (0: kept)
  uint32_t flags;     // kUsesBp, kBpLive, kCheckBp
  // A hash of the pcs of this state and of every state after it in the memo (the
  // walk's frames from here out, and its end if the memo holds it): WalkKey.
  uint64_t chain;
};

// Stepping out of this frame computes the CFA from bp.
constexpr uint32_t kUsesBp = 1;
// The rest of the walk depends on this state's bp (some later step uses it before a
// saved bp is loaded). Code built without frame pointers keeps anything in rbp, so a
// walk that compared bp where it is dead would almost never find a state to join.
constexpr uint32_t kBpLive = 2;
// Stepping out of this state read the caller's bp, and the rest of the walk uses it:
// a later walk that joins before this state must re-read that word (SuffixUnchanged).
constexpr uint32_t kCheckBp = 4;

enum StepResult { kStepOk, kStepEnd, kStepFail };

// Steps out of the frame (pc, sp, bp), in place; the rule is looked up for
// `lookup_pc`. *bp_slot is where the caller's bp was read from (0: bp kept); *flags
// says whether the step used bp. Scalars, not a struct: a struct assembled from
// separate stores and then copied whole stalls on store forwarding (a third to a half
// of the walk's samples in perf).
inline StepResult StepOut(uintptr_t& pc, uintptr_t& sp, uintptr_t& bp, uintptr_t lookup_pc,
                          uintptr_t top, uintptr_t* bp_slot, uint32_t* flags) {
  Rule rule = Lookup(lookup_pc);
  *flags = 0;
  *bp_slot = 0;
  if (rule.kind == kRuleEnd) return kStepEnd;
  if (rule.kind != kRuleRsp && rule.kind != kRuleRbp) return kStepFail;
  if (rule.kind == kRuleRbp) *flags = kUsesBp;
  const uintptr_t cfa = (rule.kind == kRuleRsp ? sp : bp) + static_cast<uint32_t>(rule.cfa_offset);
  if (cfa <= sp || cfa > top || (cfa & 7) != 0) return kStepFail;
  const uintptr_t ra = *reinterpret_cast<const uintptr_t*>(cfa - 8);
  if (rule.rbp_offset != 0) {
    const uintptr_t slot = cfa + static_cast<uintptr_t>(static_cast<intptr_t>(rule.rbp_offset));
    if (slot < sp || slot + 8 > top) return kStepFail;
    bp = *reinterpret_cast<const uintptr_t*>(slot);
    *bp_slot = slot;
  }
  sp = cfa;
  pc = ra;
  return kStepOk;
}

// ---- The walk memo -----------------------------------------------------------------
//
// A walk is a pure function of its start (pc, sp, bp), the rule cache's generation and
// the stack words it reads: each frame's return address at CFA-8 and, for some frames,
// the caller's saved bp. The thread's previous walk is kept with every state it passed
// through. When a new walk reaches a state the previous one also passed through (same
// pc and sp, and the same bp where the rest of the walk depends on it: typically at once, for a loop that allocates from one place, or a few
// frames up, for a different leaf under the same callers), re-reading those words and
// finding them unchanged proves the rest of the walk would repeat the previous one,
// so its frames are copied instead of looked up: a load and a compare per frame
// instead of a rule lookup.

constexpr int kMemoStates = 40;  // the default depth (32) and the terminating read

// The states are kept outermost first: a walk that joins the memo keeps the states
// from the join outwards where they are and writes its own after them, instead of
// moving the shared ones (a copy of most of the memo on every joined walk).
struct WalkMemo {
  uint32_t generation;  // of the rule cache when recorded; 0: empty
  int states;           // s[0..states): s[states - 1] is the walk's first (innermost)
  int frames;           // what the walk returned
  int max_frames;       // what it was asked for
  bool complete;        // it ended at the stack's end (not cut by max_frames or this memo)
  bool chained;         // every state's chain is right (the memo holds the whole walk)
  uintptr_t top;
  WalkState s[kMemoStates];
};

__thread WalkMemo t_memo __attribute__((tls_model("initial-exec")));

// The memo's i-th state in walk order (0: the innermost).
inline WalkState& Nth(WalkMemo& m, int i) { return m.s[m.states - 1 - i]; }

// `known` is a state of the memo's walk: its bp matters only where it is live.
bool SameState(const WalkState& known, uintptr_t pc, uintptr_t sp, uintptr_t bp) {
  return known.pc == pc && known.sp == sp && ((known.flags & kBpLive) == 0 || known.bp == bp);
}

// Marks kBpLive on s[0..end), given whether bp is live in s[end] (false past the end:
// a walk's last state is never stepped out of, or ends the stack).
void MarkBpLive(WalkState* s, int end, bool live_after) {
  bool live = live_after;
  for (int i = end - 1; i >= 0; --i) {
    const bool check = s[i].bp_slot != 0 && live;  // `live` is still the next state's
    live = (s[i].flags & kUsesBp) != 0 || (s[i].bp_slot == 0 && live);
    s[i].flags = (s[i].flags & ~(kBpLive | kCheckBp)) | (live ? kBpLive : 0) | (check ? kCheckBp : 0);
  }
}

// The words the memo's walk read from state `from` on are still what they were.
// Every word it reads lies between the join's sp and the stack's top, so it reads
// them all and compares once: no branch per frame (this loop is most of a joined
// walk's cost).
bool SuffixUnchanged(const WalkMemo& m, int from) {
  uintptr_t diff = 0;
  // Walk order runs down the array: s[-1] is the state after s.
  const WalkState* s = &m.s[m.states - 1 - from];
  for (; s > &m.s[0]; --s) {
    const WalkState& next = s[-1];
    diff |= *reinterpret_cast<const uintptr_t*>(next.sp - 8) ^ next.pc;
    // A saved bp matters only where the rest of the walk uses it: code without frame
    // pointers keeps a loop counter in rbp as often as not.
    if ((s->flags & kCheckBp) != 0) {
      diff |= *reinterpret_cast<const uintptr_t*>(s->bp_slot) ^ next.bp;
    }
  }
  return diff == 0;
}

// The chain hash of a state whose pc is `pc`, given the chain of the state after it
// (kChainEnd for the memo's last). murmur3's finalizer over a multiply-add: a 64-bit
// hash, so two different frame sequences share a chain with probability 2^-64 per
// pair compared.
constexpr uint64_t kChainEnd = 0x2545f4914f6cdd1dull;
inline uint64_t Chain(uint64_t after, uintptr_t pc) {
  uint64_t h = after * 0x9e3779b97f4a7c15ull + pc;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h | 1;  // never 0: WalkKey's "no key"
}

// Chains s[0..end), given the chain of s[end] (kChainEnd past the memo's end).
void ChainStates(WalkState* s, int end, uint64_t after) {
  for (int i = end - 1; i >= 0; --i) after = s[i].chain = Chain(after, s[i].pc);
}

// The common case of a loop that allocates from one place, tried before the whole
// walk (whose frame alone costs dozens of instructions): the walk would start at the
// memo's first state and prove the rest unchanged at once. Returns the frame count,
// or 0 when the whole walk must run.
inline int RepeatsLastWalk(int max_frames, uintptr_t pc, uintptr_t sp, uintptr_t bp,
                           uintptr_t top) {
  WalkMemo& memo = t_memo;
  const uint32_t generation = g_generation.load(std::memory_order_relaxed) | 1u << 31;
  // As the whole walk: the memo must also reach the stack's end or max_frames.
  if (memo.frames <= 0 || memo.generation != generation || memo.top != top ||
      memo.max_frames != max_frames || (!memo.complete && memo.states < max_frames) ||
      !SameState(Nth(memo, 0), pc, sp, bp) ||
      !SuffixUnchanged(memo, 0)) {
    return 0;
  }
  int outer = memo.states - 1 - (memo.s[0].pc == 0 ? 1 : 0);
  if (outer > max_frames - 1) outer = max_frames - 1;
  return 1 + outer == memo.frames ? memo.frames : 0;
}

// The walk from the program's frame (the entry point's caller), with the memo.
int WalkFromEntry(uintptr_t* frames, int max_frames, uintptr_t pc, uintptr_t sp, uintptr_t bp,
                  uintptr_t top, bool* same_as_last, WalkKey* key) {
  const uint32_t generation = g_generation.load(std::memory_order_relaxed) | 1u << 31;
  WalkMemo& memo = t_memo;
  bool memo_usable = memo.generation == generation && memo.top == top && memo.max_frames == max_frames;
  WalkState fresh[kMemoStates];
  int fresh_count = 0;
  bool fresh_fits = true;
  int count = 0;
  int cursor = 0;
  bool complete = false;
  frames[count++] = pc;
  for (;;) {
    const bool stored = fresh_count < kMemoStates;
    if (stored) {
      WalkState& f = fresh[fresh_count++];
      f.pc = pc;
      f.sp = sp;
      f.bp = bp;
      f.bp_slot = 0;
      f.flags = 0;
    } else {
      fresh_fits = false;
    }
    if (memo_usable) {
      while (cursor < memo.states && Nth(memo, cursor).sp < sp) ++cursor;
      if (cursor < memo.states && SameState(Nth(memo, cursor), pc, sp, bp)) {
        memo_usable = false;  // one attempt: a failed check means the stack changed here
        const int have = count + (memo.states - 1 - cursor);
        const bool enough = memo.complete || have >= max_frames;
        if (enough && fresh_fits && SuffixUnchanged(memo, cursor)) {
          // The frames the walk takes from the memo: every state after the cursor's
          // but the stack's end (the only state with pc 0, always the memo's last).
          int outer = memo.states - 1 - cursor - (memo.s[0].pc == 0 ? 1 : 0);
          if (outer > max_frames - count) outer = max_frames - count;
          // (A walk that repeats the last one whole never gets here: CfiBacktrace
          // tried RepeatsLastWalk first.)
          const int fresh_frames = count;
          // The memo keeps the whole joined walk unless it outgrows the memo.
          const bool memo_keeps_all = fresh_count - 1 + (memo.states - cursor) <= kMemoStates;
          const bool keyed = key != nullptr && memo_keeps_all && memo.chained;
          if (keyed) {
            // The outer frames are not copied: the caller may already know what they
            // make (WalkKey), and asks CfiKeyedFrames for them when it does not.
            count += outer;
            key->fresh = fresh_frames;
            key->frames = count;
          } else {
            for (int i = cursor + 1; i < memo.states && count < max_frames; ++i) {
              if (Nth(memo, i).pc == 0) break;
              frames[count++] = Nth(memo, i).pc;
            }
          }
          if (same_as_last != nullptr) *same_as_last = false;
          // The memo becomes this walk: the shared suffix where it is (s[0..suffix)),
          // then the fresh prefix. The suffix keeps its liveness and chains (they do not
          // depend on what comes before); the prefix's are worked out from it.
          const int suffix = memo.states - cursor;
          const int prefix = fresh_count - 1;
          const WalkState& joined = memo.s[suffix - 1];
          MarkBpLive(fresh, prefix, (joined.flags & kBpLive) != 0);
          memo.chained = memo.chained && memo_keeps_all;
          if (memo.chained) {
            ChainStates(fresh, prefix, joined.chain);
            if (keyed) key->key = prefix > 0 ? fresh[0].chain : joined.chain;
          }
          int keep = suffix;
          if (prefix + suffix > kMemoStates) {
            // Too long for the memo: its outermost states go.
            keep = kMemoStates - prefix;
            memmove(&memo.s[0], &memo.s[suffix - keep], sizeof(WalkState) * static_cast<size_t>(keep));
          }
          for (int i = 0; i < prefix; ++i) memo.s[keep + prefix - 1 - i] = fresh[i];
          memo.complete = memo.complete && keep == suffix;
          memo.states = prefix + keep;
          memo.frames = same_as_last != nullptr ? count : -1;
          return keyed ? fresh_frames : count;
        }
      }
    }
    if (count == max_frames) break;
    uintptr_t bp_slot;
    uint32_t step_flags;
    const StepResult r = StepOut(pc, sp, bp, pc - 1, top, &bp_slot, &step_flags);
    if (r != kStepOk) {
      complete = r == kStepEnd;
      break;
    }
    if (stored) {
      fresh[fresh_count - 1].bp_slot = bp_slot;
      fresh[fresh_count - 1].flags = step_flags;
    }
    if (pc == 0) {
      // The stack's end: keep the state, so a later walk checks this read too.
      if (fresh_count < kMemoStates) {
        fresh[fresh_count++] = WalkState{pc, sp, bp, 0, 0, 0};
      } else {
        fresh_fits = false;
      }
      complete = true;
      break;
    }
    frames[count++] = pc;
  }
  if (same_as_last != nullptr) *same_as_last = false;
  if (fresh_count > 0) {
    MarkBpLive(fresh, fresh_count, false);
    memo.chained = fresh_fits;
    if (fresh_fits) ChainStates(fresh, fresh_count, kChainEnd);
    for (int i = 0; i < fresh_count; ++i) memo.s[fresh_count - 1 - i] = fresh[i];
    if (key != nullptr && fresh_fits) {
      // Every frame is in the memo: the key names them.
      key->key = fresh[0].chain;
      key->fresh = count;
      key->frames = count;
    }
    memo.states = fresh_count;
    // A walk nobody compares with (same_as_last == nullptr) may not be taken for the
    // last one by a walk that does.
    memo.frames = same_as_last != nullptr ? count : -1;
    memo.max_frames = max_frames;
    memo.complete = complete && fresh_fits;
    memo.top = top;
    memo.generation = generation;
  }
  return count;
}

// The caller's pc, sp and bp at one instant of its own frame (always inlined, so the
// three are the caller's): the CFI rule for `pc` tells how to find its CFA from `sp`
// or `bp`.
__attribute__((always_inline)) inline void CaptureThisFrame(uintptr_t* pc, uintptr_t* sp,
                                                            uintptr_t* bp) {
  asm volatile(
      "lea 0(%%rip), %0\n\t"
      "mov %%rsp, %1\n\t"
      "mov %%rbp, %2"
      : "=r"(*pc), "=r"(*sp), "=r"(*bp));
}

}  // namespace

__attribute__((noinline)) int CfiBacktrace(uintptr_t* frames, int max_frames, uintptr_t caller,
                                           bool* same_as_last, WalkKey* key) {
  if (same_as_last != nullptr) *same_as_last = false;
  if (key != nullptr) key->key = 0;
  const uintptr_t top = StackTop();
  if (top == 0) return -1;
  uintptr_t pc, sp, bp;
  CaptureThisFrame(&pc, &sp, &bp);
  // Start at the program's frame when the interposed entry point left its frame: its
  // saved return address must be `caller`, and it must lie on the live stack above us.
  const uintptr_t entry = t_state.entry_frame;
  if (entry > sp && entry + 16 <= top && (entry & 7) == 0 &&
      *reinterpret_cast<const uintptr_t*>(entry + 8) == caller) {
    // Scalars, not a struct: a struct built from these stores and then copied as a
    // whole stalls on store forwarding (see StepOut).
    const uintptr_t entry_bp = *reinterpret_cast<const uintptr_t*>(entry);
    if (same_as_last != nullptr) {
      const int repeated = RepeatsLastWalk(max_frames, caller, entry + 16, entry_bp, top);
      if (repeated > 0) {
        *same_as_last = true;
        return repeated;
      }
    }
    return WalkFromEntry(frames, max_frames, caller, entry + 16, entry_bp, top, same_as_last, key);
  }
  // Otherwise walk out of heapwarden's own frames until `caller` appears.
  int count = 0;
  bool found = false;
  for (int step = 0; step < kMaxOwnFrames + max_frames; ++step) {
    // A return address points after the call; the call itself is one byte before.
    uintptr_t bp_slot;
    uint32_t step_flags;
    const StepResult r = StepOut(pc, sp, bp, step == 0 ? pc : pc - 1, top, &bp_slot, &step_flags);
    if (r == kStepEnd) break;
    if (r == kStepFail) return found ? count : -1;
    if (pc == 0) break;
    if (!found) {
      if (pc != caller) {
        if (step >= kMaxOwnFrames) return -1;
        continue;
      }
      found = true;
    }
    frames[count++] = pc;
    if (count == max_frames) break;
  }
  return found ? count : -1;
}

void CfiKeyedFrames(uintptr_t* frames, const WalkKey& key) {
  // The memo became the walk: its states are the walk's, one per frame.
  WalkMemo& memo = t_memo;
  for (int i = key.fresh; i < key.frames; ++i) frames[i] = Nth(memo, i).pc;
}

__attribute__((noinline)) uintptr_t CfiStackAbove(int frames) {
  const uintptr_t top = StackTop();
  if (top == 0) return 0;
  uintptr_t pc, sp, bp;
  CaptureThisFrame(&pc, &sp, &bp);
  // Out of this function, then of the caller and `frames` more.
  for (int step = 0; step <= frames + 1; ++step) {
    uintptr_t bp_slot;
    uint32_t step_flags;
    if (StepOut(pc, sp, bp, step == 0 ? pc : pc - 1, top, &bp_slot, &step_flags) != kStepOk ||
        pc == 0) {
      return 0;
    }
  }
  return sp;
}

}  // namespace heapwarden::internal
