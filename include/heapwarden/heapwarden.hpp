// heapwarden.hpp: the C++ API of heapwarden: scoped tags, statistics, snapshots and
// trim, over the C API of heapwarden.h.
//
// Self-contained and header-only, like heapwarden.h: a program that includes it runs
// unchanged, and does nothing costly, when heapwarden is not loaded (every function
// then returns the "inactive" value it documents). Nothing here throws, and nothing
// allocates through malloc, except where said (Allocator and Resource are allocators:
// they allocate, and throw std::bad_alloc as allocators do; a Resource over its budget
// throws BudgetError, a std::bad_alloc that says which budget refused).
//
//   void LoadBatch(const File& f) {
//     HEAPWARDEN_TAG("load_batch");      // until the end of this scope
//     Parse(f);
//   }
//   ...
//   heapwarden::TrimResult t = heapwarden::trim();   // after a phase that freed a lot
//
// Thread-safety: every function may be called from any thread. Tags are per thread: a
// ScopedTag applies to the allocations of the thread that created it.
#ifndef HEAPWARDEN_HEAPWARDEN_HPP_
#define HEAPWARDEN_HEAPWARDEN_HPP_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory_resource>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "heapwarden/heapwarden.h"

namespace heapwarden {

// active()
//
// True when heapwarden is tracking this process; false when it is not loaded, or linked
// but not switched on. Thread-safe; does not allocate; cannot fail.
inline bool active() noexcept { return heapwarden_active() != 0; }

// ScopedTag
//
// Pushes `tag` on this thread's tag stack for its lifetime: allocations the thread
// makes meanwhile carry the slash-joined path of the thread's tags ("epoch/load"),
// and their frees are charged to that path whichever thread frees them. Tags nest up
// to 31 deep. The name is copied. Create and destroy it on the same thread, in
// stack order (it is neither copyable nor movable). The first use of a new path takes
// a short lock; a known path costs a lock-free lookup. Does not allocate through
// malloc; cannot fail: without heapwarden, or past 31 levels, it does nothing.
class ScopedTag {
 public:
  explicit ScopedTag(const char* tag) noexcept { heapwarden_tag_push(tag); }
  explicit ScopedTag(const std::string& tag) noexcept { heapwarden_tag_push(tag.c_str()); }
  ~ScopedTag() { heapwarden_tag_pop(); }
  ScopedTag(const ScopedTag&) = delete;
  ScopedTag& operator=(const ScopedTag&) = delete;
  ScopedTag(ScopedTag&&) = delete;
  ScopedTag& operator=(ScopedTag&&) = delete;
};

// Process-wide figures, in bytes unless named otherwise (see heapwarden_stats in
// heapwarden.h). All zero, and `active` false, when heapwarden is not loaded.
struct Stats {
  bool active = false;
  uint64_t live_bytes = 0;       // allocated and not yet freed
  uint64_t live_blocks = 0;
  uint64_t peak_live_bytes = 0;  // the highest live_bytes so far
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t bytes_allocated = 0;
  uint64_t rss_bytes = 0;        // resident set now
  uint64_t peak_rss_bytes = 0;
  uint64_t retained_bytes = 0;   // resident but holding no live block: what trim() may return
  uint64_t mapped_bytes = 0;     // anonymous memory the program mapped itself
};

// stats()
//
// The figures now. Reads /proc/self (a few microseconds) and sums the per-site
// counters (proportional to the number of call sites). Thread-safe; does not allocate
// through malloc. Inactive: `active` false and every figure zero.
inline Stats stats() noexcept {
  struct heapwarden_stats raw;
  Stats out;
  if (heapwarden_stats(&raw) != 0) return out;
  out.active = true;
  out.live_bytes = raw.live_bytes;
  out.live_blocks = raw.live_blocks;
  out.peak_live_bytes = raw.peak_live_bytes;
  out.allocations = raw.allocations;
  out.frees = raw.frees;
  out.bytes_allocated = raw.bytes_allocated;
  out.rss_bytes = raw.rss_bytes;
  out.peak_rss_bytes = raw.peak_rss_bytes;
  out.retained_bytes = raw.retained_bytes;
  out.mapped_bytes = raw.mapped_bytes;
  return out;
}

// What a trim did. `ok` is false (and the rest zero) when heapwarden is not loaded.
struct TrimResult {
  bool ok = false;
  uint64_t rss_before = 0;
  uint64_t rss_after = 0;
  uint64_t released_bytes = 0;  // rss_before - rss_after, or 0 if RSS grew meanwhile
};

// trim()
//
// Asks the allocator to return freed pages to the OS and measures resident memory
// before and after; recorded in the report's "trims" (trigger "api"). May take
// milliseconds; not async-signal-safe. Best effort: pages holding a live block stay.
// Thread-safe (trims are serialised); does not allocate through malloc. Inactive:
// `ok` false and zeroes.
inline TrimResult trim() noexcept {
  heapwarden_trim_result raw = heapwarden_trim();
  TrimResult out;
  out.ok = raw.ok != 0;
  out.rss_before = raw.rss_before;
  out.rss_after = raw.rss_after;
  out.released_bytes = raw.released_bytes;
  return out;
}

// snapshot()
//
// Writes a report of the process as it is now ("complete": false) to `path`,
// atomically (a reader sees the old file or the new one), mode 0600, never through a
// symbolic link. Returns false when heapwarden is not loaded or the file cannot be
// written. Takes milliseconds for large tables; other threads keep running.
// Thread-safe; builds the file in memory it maps itself, not through malloc.
inline bool snapshot(const char* path) noexcept { return heapwarden_snapshot(path) == 0; }
inline bool snapshot(const std::string& path) noexcept { return snapshot(path.c_str()); }

// Live and peak bytes of one tag path: its own, and its total with the paths below it.
// For "load" with a nested "load/map": live_bytes counts what was allocated under
// exactly "load", total_live_bytes adds "load/map" (and "load/map/...").
struct TagStats {
  bool found = false;  // false: no allocation was ever made under that path, or inactive
  uint64_t live_bytes = 0;             // own: allocated under exactly this path
  uint64_t peak_live_bytes = 0;        // own: the highest live_bytes so far
  uint64_t total_live_bytes = 0;       // this path and every path under it
  uint64_t total_peak_live_bytes = 0;  // the highest total_live_bytes so far
};

// tag_stats()
//
// The figures of a whole slash-joined tag path ("epoch/load_batch"), exact: frees on
// any thread are charged to the tag the block was allocated under. A total is read as
// two counters a moment apart: while threads allocate under the path, it can be off by
// what they moved in that moment. Thread-safe; does not allocate; linear in the number
// of tag paths. Unknown path or inactive: `found` false and zeroes.
inline TagStats tag_stats(const char* tag) noexcept {
  TagStats out;
  struct heapwarden_tag_figures figures;
  if (heapwarden_tag_figures(tag, &figures) == 0) {
    out.found = true;
    out.live_bytes = figures.live_bytes;
    out.peak_live_bytes = figures.peak_live_bytes;
    out.total_live_bytes = figures.total_live_bytes;
    out.total_peak_live_bytes = figures.total_peak_live_bytes;
    return out;
  }
  // A heapwarden older than the totals: its own figures only.
  out.found = heapwarden_tag_stats(tag, &out.live_bytes, &out.peak_live_bytes) == 0;
  return out;
}
inline TagStats tag_stats(const std::string& tag) noexcept { return tag_stats(tag.c_str()); }

// start()
//
// Switches tracking on from code in a program linked with heapwarden::heapwarden,
// which tracks nothing until asked (docs/cpp.md); `options` as in HEAPWARDEN_OPTIONS
// ("output=/var/tmp/app.%p.json:depth=16"; nullptr for the defaults). Allocations
// made before the call are not tracked. Once per process: when tracking is already on
// (HEAPWARDEN_OPTIONS, the preload, an earlier call) the options are ignored. Returns
// true when tracking is on after the call; false when heapwarden is not in the
// process or cannot reserve its tables. Thread-safe; does not throw. Reserves its
// tables with mmap; starting its one helper thread allocates a little (untracked).
inline bool start(const char* options = nullptr) noexcept {
  return heapwarden_start(options) == 0;
}

namespace internal {

// Tags compare by content; no tag (nullptr) equals "".
inline bool SameTag(const char* a, const char* b) noexcept {
  if (a == b) return true;
  return std::strcmp(a != nullptr ? a : "", b != nullptr ? b : "") == 0;
}

// Pushes a tag when there is one: an untagged allocator leaves the thread's tags alone.
class OptionalTag {
 public:
  explicit OptionalTag(const char* tag) noexcept : pushed_(tag != nullptr && *tag != '\0') {
    if (pushed_) heapwarden_tag_push(tag);
  }
  ~OptionalTag() {
    if (pushed_) heapwarden_tag_pop();
  }
  OptionalTag(const OptionalTag&) = delete;
  OptionalTag& operator=(const OptionalTag&) = delete;

 private:
  bool pushed_;
};

}  // namespace internal

// Allocator<T>
//
// A standard allocator whose blocks are attributed to a tag, for any standard
// container:
//
//   std::vector<float, heapwarden::Allocator<float>> v(
//       heapwarden::Allocator<float>("embeddings"));
//   std::map<int, Row, std::less<int>, heapwarden::Allocator<std::pair<const int, Row>>>
//       rows(heapwarden::Allocator<std::pair<const int, Row>>("rows"));
//
// Memory comes from the global operator new and goes back to operator delete, with the
// tag pushed on the calling thread's tag stack for the duration of the call, so the
// report lists the block under that tag (nested under the thread's own tags, if any:
// "epoch/embeddings") and heapwarden::tag_stats("embeddings") counts it. Without
// heapwarden in the process it is std::allocator plus one predicted branch.
//
// The tag is not copied: it must outlive every copy of the allocator (a string
// literal, or a string the program keeps). Default-constructed: no tag.
//
// Equality compares tags by content. Propagation follows the memory: a container
// moved or swapped takes its allocator, and so its tag, with the blocks it takes
// (propagate_on_container_move_assignment and _swap are true, so swapping two
// containers of different tags is well defined); copy assignment keeps the target's
// tag and allocates the copies under it (propagate_on_container_copy_assignment is
// false); a copy-constructed container gets the source's tag.
//
// Thread-safety: as std::allocator; allocate and deallocate may run on any thread.
template <class T>
class Allocator {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_copy_assignment = std::false_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;
  template <class U>
  struct rebind {
    using other = Allocator<U>;
  };

  // No tag: blocks carry the thread's tags only. Does not allocate.
  Allocator() noexcept = default;
  // `tag` (not copied; may be nullptr for none). Does not allocate.
  explicit Allocator(const char* tag) noexcept : tag_(tag) {}
  // From a string that dies before the allocator would dangle: refused.
  explicit Allocator(std::string&&) = delete;
  // Rebinding keeps the tag.
  template <class U>
  Allocator(const Allocator<U>& other) noexcept : tag_(other.tag()) {}

  // allocate()
  //
  // Storage for `n` objects of T, aligned for T, from the global operator new with
  // the tag applied. Throws std::bad_array_new_length when n * sizeof(T) overflows and
  // std::bad_alloc when operator new fails (it never returns nullptr). Thread-safe.
  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    internal::OptionalTag scope(tag_);
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignof(T))));
    } else {
      return static_cast<T*>(::operator new(n * sizeof(T)));
    }
  }

  // deallocate()
  //
  // Returns storage from allocate(n) of an allocator equal to this one (any
  // heapwarden::Allocator in fact: they share operator delete). The block is charged
  // back to the tag it was allocated under, whichever thread frees it. Never fails;
  // does not allocate; thread-safe.
  void deallocate(T* p, std::size_t n) noexcept {
#if defined(__cpp_sized_deallocation)
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete(p, n * sizeof(T), std::align_val_t(alignof(T)));
    } else {
      ::operator delete(p, n * sizeof(T));
    }
#else
    (void)n;
    if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete(p, std::align_val_t(alignof(T)));
    } else {
      ::operator delete(p);
    }
#endif
  }

  // The tag given at construction (nullptr for none). Never fails.
  const char* tag() const noexcept { return tag_; }

 private:
  const char* tag_ = nullptr;
};

// True when both allocators carry the same tag (by content). Never fails.
template <class T, class U>
bool operator==(const Allocator<T>& a, const Allocator<U>& b) noexcept {
  return internal::SameTag(a.tag(), b.tag());
}
template <class T, class U>
bool operator!=(const Allocator<T>& a, const Allocator<U>& b) noexcept {
  return !(a == b);
}

class Resource;

// What a Resource's budget handler is told.
struct BudgetExceeded {
  const Resource& resource;
  std::size_t requested;   // bytes of the allocation that would exceed the budget
  std::size_t live_bytes;  // the resource's live bytes at that moment
  std::size_t budget;      // its budget at that moment
};

// BudgetError
//
// What a Resource throws when it refuses an allocation over its budget. A
// std::bad_alloc, so code that handles running out of memory handles it too; what()
// says that a budget refused, not the system:
//
//   heapwarden::Resource "cache" over budget: 1048576 bytes requested, 66060288 bytes
//   live, budget 67108864 bytes
//
// (one line). Copying it never allocates or throws: the message lives in the object,
// with a tag longer than 128 characters cut short.
class BudgetError : public std::bad_alloc {
 public:
  BudgetError(const char* tag, std::size_t requested, std::size_t live_bytes,
              std::size_t budget) noexcept
      : requested_(requested), live_bytes_(live_bytes), budget_(budget) {
    std::snprintf(message_, sizeof(message_),
                  "heapwarden::Resource \"%.128s\" over budget: %zu bytes requested, %zu bytes "
                  "live, budget %zu bytes",
                  tag != nullptr ? tag : "", requested, live_bytes, budget);
  }

  const char* what() const noexcept override { return message_; }
  // The refused allocation's size, the resource's live bytes then, and its budget then.
  std::size_t requested() const noexcept { return requested_; }
  std::size_t live_bytes() const noexcept { return live_bytes_; }
  std::size_t budget() const noexcept { return budget_; }

 private:
  std::size_t requested_;
  std::size_t live_bytes_;
  std::size_t budget_;
  char message_[256];
};

// What the handler decides.
enum class BudgetAction {
  kRefuse,  // the allocation fails: BudgetError (a std::bad_alloc) is thrown to the caller
  kRetry,   // check again: the handler released memory of this resource or raised its budget
  kAllow,   // serve it anyway, over budget (a soft limit that only reports)
};

// Called, on the allocating thread, when an allocation would take a Resource over its
// budget. It may throw (the exception reaches the caller; nothing was allocated). It
// may run on several threads at once.
using BudgetHandler = std::function<BudgetAction(const BudgetExceeded&)>;

// Resource
//
// A std::pmr::memory_resource that tags what it allocates, keeps its own live and
// peak bytes, and can hold a budget:
//
//   heapwarden::Resource cache_memory("cache", 64 << 20);   // throws over 64 MiB
//   std::pmr::unordered_map<std::string, Blob> cache(&cache_memory);
//
// Memory comes from `upstream` (by default std::pmr::new_delete_resource()) with the
// tag pushed on the calling thread, so what the upstream takes from the heap during
// the call is attributed to it (nested under the thread's own tags, as for Allocator).
// live_bytes() counts the bytes handed out and not yet returned, as requested (the
// upstream's own overhead not included), whether or not heapwarden is loaded.
//
// Budget: an allocation that would take live_bytes() over budget() is refused with
// BudgetError (a std::bad_alloc naming the tag, the budget and the request), or, when a
// BudgetHandler was given, the handler decides (refuse, retry, allow). No budget:
// kNoBudget.
//
// Thread-safety: allocate and deallocate are thread-safe when the upstream's are (the
// default's are); the figures are atomics. Not copyable or movable: containers hold its
// address. Memory still allocated when it is destroyed stays with the upstream (and
// shows in the leak report). Two Resources are equal only when they are the same
// object.
class Resource : public std::pmr::memory_resource {
 public:
  static constexpr std::size_t kNoBudget = static_cast<std::size_t>(-1);

  // A tag and no budget. Copies the tag (may throw std::bad_alloc).
  explicit Resource(std::string tag,
                    std::pmr::memory_resource* upstream = std::pmr::new_delete_resource())
      : Resource(std::move(tag), kNoBudget, BudgetHandler(), upstream) {}

  // A budget that is enforced by throwing BudgetError.
  Resource(std::string tag, std::size_t budget_bytes,
           std::pmr::memory_resource* upstream = std::pmr::new_delete_resource())
      : Resource(std::move(tag), budget_bytes, BudgetHandler(), upstream) {}

  // A budget whose excess `on_exceeded` handles.
  Resource(std::string tag, std::size_t budget_bytes, BudgetHandler on_exceeded,
           std::pmr::memory_resource* upstream = std::pmr::new_delete_resource())
      : tag_(std::move(tag)),
        upstream_(upstream),
        on_exceeded_(std::move(on_exceeded)),
        budget_(budget_bytes) {}

  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  // The figures. Lock-free reads; never fail.
  std::size_t live_bytes() const noexcept { return live_.load(std::memory_order_relaxed); }
  std::size_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  std::size_t budget() const noexcept { return budget_.load(std::memory_order_relaxed); }
  // Changes the budget for the allocations that follow (kNoBudget: none). Blocks
  // already allocated stay. Thread-safe; never fails.
  void set_budget(std::size_t bytes) noexcept { budget_.store(bytes, std::memory_order_relaxed); }
  const std::string& tag() const noexcept { return tag_; }
  std::pmr::memory_resource* upstream() const noexcept { return upstream_; }

 protected:
  // Reserves `bytes` under the budget, then allocates them from the upstream with the
  // tag applied. Throws BudgetError when refused, or what the upstream or the handler
  // throws; nothing stays reserved then.
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    const std::size_t live = Reserve(bytes);
    void* p;
    try {
      internal::OptionalTag scope(tag_.c_str());
      p = upstream_->allocate(bytes, alignment);
    } catch (...) {
      live_.fetch_sub(bytes, std::memory_order_relaxed);
      throw;
    }
    std::size_t peak = peak_.load(std::memory_order_relaxed);
    while (live > peak && !peak_.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
    }
    return p;
  }

  // Returns the block to the upstream and takes it off live_bytes(). Does not throw
  // unless the upstream does.
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    upstream_->deallocate(p, bytes, alignment);
    live_.fetch_sub(bytes, std::memory_order_relaxed);
  }

  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

 private:
  // Adds `bytes` to live_ if the budget allows (or the handler says so); returns the
  // new live figure. Throws BudgetError when refused.
  std::size_t Reserve(std::size_t bytes) {
    for (;;) {
      std::size_t live = live_.load(std::memory_order_relaxed);
      const std::size_t budget = budget_.load(std::memory_order_relaxed);
      if (bytes <= budget && live <= budget - bytes) {
        if (live_.compare_exchange_weak(live, live + bytes, std::memory_order_relaxed)) {
          return live + bytes;
        }
        continue;  // another thread moved live_: check again
      }
      const BudgetAction action = on_exceeded_
                                      ? on_exceeded_(BudgetExceeded{*this, bytes, live, budget})
                                      : BudgetAction::kRefuse;
      if (action == BudgetAction::kAllow) {
        return live_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
      }
      if (action != BudgetAction::kRetry) throw BudgetError(tag_.c_str(), bytes, live, budget);
    }
  }

  const std::string tag_;
  std::pmr::memory_resource* const upstream_;
  const BudgetHandler on_exceeded_;
  std::atomic<std::size_t> budget_;
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> peak_{0};
};

}  // namespace heapwarden

#define HEAPWARDEN_INTERNAL_CONCAT2(a, b) a##b
#define HEAPWARDEN_INTERNAL_CONCAT(a, b) HEAPWARDEN_INTERNAL_CONCAT2(a, b)

// HEAPWARDEN_TAG("name")
//
// A ScopedTag with a unique name, for the rest of the enclosing scope.
#define HEAPWARDEN_TAG(name)                                                            \
  ::heapwarden::ScopedTag HEAPWARDEN_INTERNAL_CONCAT(heapwarden_scoped_tag_, __COUNTER__)( \
      name)

#endif  // HEAPWARDEN_HEAPWARDEN_HPP_
