// control_protocol_test.cc: where control sockets live.
#include "common/control_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace heapwarden::internal {
namespace {

TEST(ControlProtocolTest, DirectoryAndSocketNames) {
  char dir[256], path[256];
  ASSERT_TRUE(ControlDirectory(dir, sizeof(dir), "/run/user/1000", 1000));
  EXPECT_STREQ(dir, "/run/user/1000/heapwarden");
  ASSERT_TRUE(ControlDirectory(dir, sizeof(dir), nullptr, 1000));
  EXPECT_STREQ(dir, "/tmp/heapwarden-1000");
  ASSERT_TRUE(ControlDirectory(dir, sizeof(dir), "relative/dir", 7));
  EXPECT_STREQ(dir, "/tmp/heapwarden-7");
  ASSERT_TRUE(ControlSocketPath(path, sizeof(path), dir, 4242));
  EXPECT_STREQ(path, "/tmp/heapwarden-7/4242.sock");
}

TEST(ControlProtocolTest, AbstractSocketNamePrefix) {
  char name[64];
  ASSERT_TRUE(ControlAbstractPrefix(name, sizeof(name), 1000, 4242));
  EXPECT_STREQ(name, "heapwarden/1000/4242.");
  EXPECT_FALSE(ControlAbstractPrefix(name, 12, 1000, 4242));
}

TEST(ControlProtocolTest, SocketPathsLongerThanSunPathAreRefused) {
  std::string long_dir = "/" + std::string(120, 'd');
  char path[512];
  EXPECT_FALSE(ControlSocketPath(path, sizeof(path), long_dir.c_str(), 1));
}

}  // namespace
}  // namespace heapwarden::internal
