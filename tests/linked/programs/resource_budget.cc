// resource_budget.cc: heapwarden::Resource refusing what would exceed its budget, both
// ways: by throwing std::bad_alloc, and through a BudgetHandler that refuses, retries
// (after freeing) or allows. Its upstream counts calls, so a refusal is seen to reach
// no allocator. Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 on a failure.
// Runs alike with or without heapwarden: the budget is the Resource's own.
#include <cstdio>
#include <cstring>
#include <memory_resource>
#include <new>
#include <vector>

#include "heapwarden/heapwarden.hpp"

namespace {

int g_failures = 0;

void Check(bool ok, const char* name, const char* why) {
  if (ok) {
    std::printf("ok %s\n", name);
  } else {
    std::printf("FAIL %s: %s\n", name, why);
    ++g_failures;
  }
}

// Upstream that counts what reaches it.
class CountingUpstream : public std::pmr::memory_resource {
 public:
  int allocations = 0;

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, size_t bytes, size_t alignment) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }
};

void ThrowingBudget() {
  CountingUpstream upstream;
  heapwarden::Resource budgeted("budget/throw", 4096, &upstream);
  void* first = budgeted.allocate(3000);
  bool threw = false;
  try {
    budgeted.deallocate(budgeted.allocate(2000), 2000);  // must throw before
  } catch (const std::bad_alloc& e) {
    threw = true;
    // heapwarden's own type, whose message names the resource, the request and the
    // budget: a refusal must not read as the system running out of memory.
    const auto* refused = dynamic_cast<const heapwarden::BudgetError*>(&e);
    const char* what = e.what();
    Check(refused != nullptr && refused->requested() == 2000 && refused->live_bytes() == 3000 &&
              refused->budget() == 4096,
          "throw.type", "not a heapwarden::BudgetError of 2000 requested, 3000 live, 4096 budget");
    Check(std::strstr(what, "\"budget/throw\"") != nullptr && std::strstr(what, "2000") != nullptr &&
              std::strstr(what, "4096") != nullptr && std::strstr(what, "over budget") != nullptr,
          "throw.what", what);
    std::printf("what(): %s\n", what);
  }
  Check(threw, "throw.refused", "the allocation over budget did not throw std::bad_alloc");
  Check(upstream.allocations == 1, "throw.upstream_untouched", "the refused one reached upstream");
  Check(budgeted.live_bytes() == 3000, "throw.live", "live_bytes is not 3000");
  void* exact = budgeted.allocate(1096);  // exactly up to the budget is allowed
  Check(budgeted.live_bytes() == 4096, "throw.up_to_budget", "could not fill up to the budget");
  budgeted.deallocate(exact, 1096);
  budgeted.deallocate(first, 3000);
  Check(budgeted.live_bytes() == 0 && budgeted.peak_bytes() == 4096, "throw.live_peak",
        "live/peak not 0/4096 after freeing");

  // Through a container: std::pmr::vector growing past the budget.
  heapwarden::Resource small("budget/vector", 1024);
  std::pmr::vector<int> v(&small);
  bool vector_threw = false;
  try {
    for (int i = 0; i < 1000; ++i) v.push_back(i);
  } catch (const std::bad_alloc&) {
    vector_threw = true;
  }
  // Growing from 128 to 256 ints needs the new 1024-byte buffer while the old 512 bytes
  // are still live: 1536 > 1024, refused; the vector keeps its 128.
  Check(vector_threw && v.size() == 128 && small.live_bytes() == 512, "throw.vector",
        "a pmr::vector did not stop at 128 ints (512 + 1024 bytes would exceed 1024)");
}

void CallbackBudget() {
  CountingUpstream upstream;
  int calls = 0;
  heapwarden::BudgetAction next = heapwarden::BudgetAction::kRefuse;
  size_t seen_requested = 0, seen_live = 0, seen_budget = 0;
  void* to_free = nullptr;
  heapwarden::Resource* self = nullptr;
  heapwarden::Resource budgeted(
      "budget/callback", 4096,
      [&](const heapwarden::BudgetExceeded& e) {
        ++calls;
        seen_requested = e.requested;
        seen_live = e.live_bytes;
        seen_budget = e.budget;
        if (next == heapwarden::BudgetAction::kRetry && to_free != nullptr) {
          self->deallocate(to_free, 3000);  // evict, then ask to retry
          to_free = nullptr;
        }
        return next;
      },
      &upstream);
  self = &budgeted;
  to_free = budgeted.allocate(3000);

  bool threw = false;
  try {
    budgeted.deallocate(budgeted.allocate(2000), 2000);  // must throw before
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  Check(calls == 1, "callback.called", "the handler was not called exactly once");
  Check(seen_requested == 2000 && seen_live == 3000 && seen_budget == 4096, "callback.arguments",
        "the handler did not see requested 2000, live 3000, budget 4096");
  Check(threw && upstream.allocations == 1, "callback.refused",
        "kRefuse did not end in std::bad_alloc without reaching upstream");

  next = heapwarden::BudgetAction::kRetry;
  void* after_evict = budgeted.allocate(2000);
  Check(calls == 2 && budgeted.live_bytes() == 2000, "callback.retry",
        "kRetry after freeing did not serve the allocation");

  next = heapwarden::BudgetAction::kAllow;
  void* over = budgeted.allocate(4000);
  Check(calls == 3 && budgeted.live_bytes() == 6000 && budgeted.peak_bytes() == 6000,
        "callback.allow", "kAllow did not serve the allocation over budget");
  budgeted.deallocate(over, 4000);
  budgeted.deallocate(after_evict, 2000);
  Check(budgeted.live_bytes() == 0, "callback.live", "live_bytes not 0 at the end");
}

}  // namespace

int main() {
  ThrowingBudget();
  CallbackBudget();
  return g_failures == 0 ? 0 : 1;
}
