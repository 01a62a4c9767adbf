// clean_cpp.cc: a C++ program that leaks nothing while using what makes the run-time
// libraries allocate for good: iostreams (and a locale), exceptions (the emergency
// pool, the thrown objects), std::thread (TLS, thread_local destructors), a
// std::string in thread_local storage and a function-local static. Ground truth for
// "no false leaks": `heapwarden run --fail-on-leak` must exit 0.
//
// Usage: clean_cpp [--leak]   (--leak adds one real leak of 1234 bytes: leak_once)

#include <cstring>
#include <iostream>
#include <locale>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "escape.h"

namespace {

thread_local std::string t_name;

std::map<std::string, int>& Registry() {
  static auto* registry = new std::map<std::string, int>;  // kept for good, reachable
  return *registry;
}

HW_NOINLINE int Parse(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty input to Parse: " + std::string(64, 'x'));
  return static_cast<int>(text.size());
}

HW_NOINLINE void Work(int id, std::mutex& mu, std::vector<std::string>& out) {
  t_name = "worker-" + std::to_string(id) + std::string(40, '.');
  std::ostringstream line;
  line.imbue(std::locale::classic());
  line << t_name << " parsed " << Parse("abc") << " chars";
  try {
    Parse("");
  } catch (const std::exception& e) {
    line << "; caught: " << std::strlen(e.what()) << " bytes";
  }
  std::lock_guard<std::mutex> hold(mu);
  out.push_back(line.str());
  Registry()[t_name] = id;
}

HW_NOINLINE void leak_once() {
  char* p = new char[1234];
  Escape(p);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::mutex mu;
  std::vector<std::string> lines;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(Work, i, std::ref(mu), std::ref(lines));
  for (auto& t : threads) t.join();
  try {
    throw std::runtime_error(std::string(200, 'e'));
  } catch (const std::runtime_error& e) {
    std::cout << "main caught " << std::string(e.what()).size() << "\n";
  }
  auto shared = std::make_shared<std::vector<int>>(1000, 7);
  std::cout << "threads: " << lines.size() << ", registry: " << Registry().size()
            << ", shared: " << shared->size() << std::endl;
  std::cerr << "clean_cpp: stderr works too" << std::endl;
  if (argc > 1 && std::string(argv[1]) == "--leak") leak_once();
  return 0;
}
