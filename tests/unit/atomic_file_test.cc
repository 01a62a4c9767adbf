// atomic_file_test.cc: WriteFileAtomically (lib/common/atomic_file.h) where the name is
// not a plain file in a private directory: a device, a FIFO, a link to a stream, and a
// directory inside a world-writable one that another user could have made.
#include "common/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace heapwarden {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hw-atomic-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

constexpr char kText[] = "{\"format\": \"heapwarden-report\"}\n";

int Write(const std::string& path) { return WriteFileAtomically(path.c_str(), kText, strlen(kText)); }

TEST_F(AtomicFileTest, ACharacterDeviceIsWrittenIntoNotReplaced) {
  // A private /dev/null: the machine's own must not be the one at risk.
  const std::string null_path = Path("null");
  if (mknod(null_path.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "cannot make a device node here: " << strerror(errno);
  }
  EXPECT_EQ(Write(null_path), 0);
  struct stat st;
  ASSERT_EQ(lstat(null_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device became a file";
}

TEST_F(AtomicFileTest, AFifoIsWrittenIntoNotReplaced) {
  const std::string fifo = Path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  EXPECT_EQ(Write(fifo), 0);
  char buf[256] = {};
  ssize_t n = read(reader, buf, sizeof buf - 1);
  close(reader);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), kText);
  struct stat st;
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(AtomicFileTest, AFifoWithoutAReaderFailsAtOnce) {
  const std::string fifo = Path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(Write(fifo), ENXIO);
}

TEST_F(AtomicFileTest, ALinkToAPipeIsWrittenThrough) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const std::string link = Path("stdout");
  const std::string target = "/proc/self/fd/" + std::to_string(pipe_fds[1]);
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(Write(link), 0);
  close(pipe_fds[1]);
  char buf[256] = {};
  ssize_t n = read(pipe_fds[0], buf, sizeof buf - 1);
  close(pipe_fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), kText);
  struct stat st;
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link was replaced";
}

// A directory in a world-writable one (a stand-in for /tmp, sticky like it).
class SharedParentTest : public AtomicFileTest {
 protected:
  void SetUp() override {
    AtomicFileTest::SetUp();
    shared_ = Path("shared");
    ASSERT_EQ(mkdir(shared_.c_str(), 0777), 0);
    ASSERT_EQ(chmod(shared_.c_str(), 01777), 0);
  }
  std::string shared_;
};

TEST_F(SharedParentTest, OwnDirectoryIsWritten) {
  const std::string own = shared_ + "/own";
  ASSERT_EQ(mkdir(own.c_str(), 0700), 0);
  EXPECT_EQ(Write(own + "/r.json"), 0);
}

TEST_F(SharedParentTest, ALinkInPlaceOfTheDirectoryIsNotFollowed) {
  const std::string target = Path("target");
  ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
  const std::string planted = shared_ + "/heapwarden.abc123";
  ASSERT_EQ(symlink(target.c_str(), planted.c_str()), 0);
  EXPECT_EQ(Write(planted + "/42.json"), EPERM);
  struct stat st;
  EXPECT_NE(stat((target + "/42.json").c_str(), &st), 0) << "written through the link";
}

TEST_F(SharedParentTest, AnotherUsersDirectoryIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a directory of another user";
  const std::string theirs = shared_ + "/heapwarden.abc123";
  ASSERT_EQ(mkdir(theirs.c_str(), 0777), 0);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  EXPECT_EQ(Write(theirs + "/42.json"), EPERM);
  struct stat st;
  EXPECT_NE(stat((theirs + "/42.json").c_str(), &st), 0);
}

}  // namespace
}  // namespace heapwarden
