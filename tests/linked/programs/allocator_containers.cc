// allocator_containers.cc: heapwarden::Allocator in every standard container, its traits,
// equality, rebinding and what propagation does to tags. Prints "ok NAME" or
// "FAIL NAME" per check and exits 1 on a failure. Needs no heapwarden at run time.
#include <deque>
#include <cstdio>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "heapwarden/heapwarden.hpp"

namespace {

template <class T>
using A = heapwarden::Allocator<T>;
using Traits = std::allocator_traits<A<int>>;

static_assert(!Traits::propagate_on_container_copy_assignment::value);
static_assert(Traits::propagate_on_container_move_assignment::value);
static_assert(Traits::propagate_on_container_swap::value);
static_assert(!Traits::is_always_equal::value);
static_assert(std::is_same_v<Traits::rebind_alloc<double>, A<double>>);
static_assert(std::is_nothrow_copy_constructible_v<A<int>>);
static_assert(!std::is_constructible_v<A<int>, std::string>);  // no dangling tags

struct alignas(64) Wide {
  char bytes[64];
};

int g_failures = 0;
void Check(bool ok, const char* name) {
  std::printf("%s %s\n", ok ? "ok" : "FAIL", name);
  if (!ok) ++g_failures;
}

bool Same(const char* a, const char* b) { return std::string(a ? a : "") == (b ? b : ""); }

}  // namespace

int main() {
  // Equality: by tag content, across value types; untagged equals "".
  std::string dynamic_tag = "alpha";
  Check(A<int>("alpha") == A<double>(dynamic_tag.c_str()), "equal.same_tag");
  Check(A<int>("alpha") != A<int>("beta"), "equal.other_tag");
  Check(A<int>() == A<int>(""), "equal.untagged");
  Check(Same(A<long>(A<char>("gamma")).tag(), "gamma"), "rebind.keeps_tag");

  // Every container, each with its own tag.
  std::vector<int, A<int>> vector({1, 2, 3}, A<int>("vector"));
  std::deque<int, A<int>> deque({1, 2, 3}, A<int>("deque"));
  std::list<int, A<int>> list({1, 2, 3}, A<int>("list"));
  std::forward_list<int, A<int>> forward_list({1, 2, 3}, A<int>("forward_list"));
  std::set<int, std::less<int>, A<int>> set({3, 1, 2}, std::less<int>(), A<int>("set"));
  std::map<int, int, std::less<int>, A<std::pair<const int, int>>> map(
      A<std::pair<const int, int>>("map"));
  map[1] = 2;
  std::unordered_map<int, int, std::hash<int>, std::equal_to<int>, A<std::pair<const int, int>>>
      unordered_map(8, std::hash<int>(), std::equal_to<int>(), A<std::pair<const int, int>>("umap"));
  unordered_map[1] = 2;
  std::unordered_set<int, std::hash<int>, std::equal_to<int>, A<int>> unordered_set(
      8, std::hash<int>(), std::equal_to<int>(), A<int>("uset"));
  unordered_set.insert(5);
  std::basic_string<char, std::char_traits<char>, A<char>> string(
      "a string long enough to leave the small buffer", A<char>("string"));
  std::vector<Wide, A<Wide>> wide(3, Wide{}, A<Wide>("wide"));
  auto shared = std::allocate_shared<int>(A<int>("shared"), 42);
  Check(vector.size() == 3 && deque.size() == 3 && list.size() == 3 && set.size() == 3 &&
            map.at(1) == 2 && unordered_map.at(1) == 2 && unordered_set.count(5) == 1 &&
            string.size() > 40 && *shared == 42 && !forward_list.empty(),
        "containers.work");
  Check(reinterpret_cast<uintptr_t>(wide.data()) % 64 == 0, "aligned.over_aligned_type");

  // Propagation follows the memory.
  std::vector<int, A<int>> target({7}, A<int>("target"));
  target = vector;  // copy assignment: keeps its own tag
  Check(Same(target.get_allocator().tag(), "target") && target.size() == 3, "propagate.copy_keeps");
  auto copy = vector;  // copy construction: the source's tag
  Check(Same(copy.get_allocator().tag(), "vector"), "propagate.copy_construct");
  std::vector<int, A<int>> moved_into({9}, A<int>("moved_into"));
  moved_into = std::move(copy);  // move assignment: takes the tag with the blocks
  Check(Same(moved_into.get_allocator().tag(), "vector") && moved_into.size() == 3,
        "propagate.move_takes");
  std::vector<int, A<int>> left({1}, A<int>("left")), right({2, 2}, A<int>("right"));
  left.swap(right);  // swap: tags go with the blocks (well defined for unequal tags)
  Check(Same(left.get_allocator().tag(), "right") && left.size() == 2 &&
            Same(right.get_allocator().tag(), "left") && right.size() == 1,
        "propagate.swap");
  return g_failures == 0 ? 0 : 1;
}
