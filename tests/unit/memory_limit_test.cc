// memory_limit_test.cc: reading the memory limit from /proc/self/cgroup and the
// cgroup files along the path.
#include "record/service/memory_limit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace heapwarden::internal {
namespace {

TEST(MemoryLimitTest, ParsesV1AndV2Lines) {
  char v2[256], v1[256];
  ParseProcCgroup("12:cpu,cpuacct:/a\n4:memory:/process_api/xyz\n0::/user.slice/job\n", v2,
                  sizeof(v2), v1, sizeof(v1));
  EXPECT_STREQ(v2, "/user.slice/job");
  EXPECT_STREQ(v1, "/process_api/xyz");
  ParseProcCgroup("0::/\n", v2, sizeof(v2), v1, sizeof(v1));
  EXPECT_STREQ(v2, "/");
  EXPECT_STREQ(v1, "");
  ParseProcCgroup("3:blkio,memory,pids:/m\n", v2, sizeof(v2), v1, sizeof(v1));
  EXPECT_STREQ(v2, "");
  EXPECT_STREQ(v1, "/m");
}

TEST(MemoryLimitTest, LowestLimitAlongThePathWins) {
  char root[] = "/tmp/hw-limit-XXXXXX";
  ASSERT_NE(mkdtemp(root), nullptr);
  std::string r = root;
  mkdir((r + "/a").c_str(), 0700);
  mkdir((r + "/a/b").c_str(), 0700);
  std::ofstream(r + "/memory.max") << "max\n";
  std::ofstream(r + "/a/memory.max") << "1000000\n";
  std::ofstream(r + "/a/b/memory.max") << "5000000\n";
  char source[512];
  EXPECT_EQ(LowestLimitOnPath(root, "/a/b", "memory.max", source, sizeof(source)), 1000000u);
  EXPECT_EQ(std::string(source), r + "/a/memory.max");
  EXPECT_EQ(LowestLimitOnPath(root, "/", "memory.max", source, sizeof(source)), 0u);
  EXPECT_EQ(LowestLimitOnPath(root, "/nowhere", "memory.max", source, sizeof(source)), 0u);
  std::system(("rm -rf " + r).c_str());
}

TEST(MemoryLimitTest, ThisProcessHasALimit) {
  MemoryLimit limit = ReadMemoryLimit();
  EXPECT_GT(limit.bytes, 0u);
  EXPECT_NE(limit.source[0], '\0');
}

}  // namespace
}  // namespace heapwarden::internal
