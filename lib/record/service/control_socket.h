// control_socket.h: the Unix socket through which `heapwarden snapshot PID` and
// `heapwarden trim PID` reach a tracked process (control_protocol.h has the paths
// and the protocol).
// Service thread: served by the service thread only; no allocation, no stdio. The
// directory is created 0700 and used only when it is a real directory (not a link)
// owned by this user with no group/other access, else the socket is abstract (a name
// no other user can guess); every peer's uid is checked with SO_PEERCRED before its
// request is read.
#ifndef HEAPWARDEN_LIB_RECORD_SERVICE_CONTROL_SOCKET_H_
#define HEAPWARDEN_LIB_RECORD_SERVICE_CONTROL_SOCKET_H_

#include <sys/types.h>

#include <cstddef>

namespace heapwarden::internal {

class Recorder;

class ControlSocket {
 public:
  // Remembers XDG_RUNTIME_DIR (read while the process is single-threaded: getenv is
  // not safe against a concurrent setenv).
  void Configure(const char* xdg_runtime_dir);

  // Makes the private directory and listens on DIRECTORY/PID.sock; when the directory
  // is not private or cannot be made, on the abstract "\0heapwarden/UID/PID.RANDOM".
  // False (with one warning line) when no socket can be made.
  bool Open();

  // The listening descriptor, or -1.
  int fd() const { return fd_; }
  // DIRECTORY/PID.sock, or "@heapwarden/UID/PID.RANDOM" for an abstract socket.
  const char* path() const { return path_; }

  // True while fd() is still the socket Open made: a program that closes every
  // descriptor (daemons do) may have reused the number for a file of its own.
  bool StillOurs() const;

  // Accepts and answers one waiting client, at most a few seconds of blocking.
  void ServeOne(Recorder& recorder);

  // Removes the socket file, when this process made it (a fork child never removes
  // its parent's), and stops listening.
  void Remove();

  // In a fork child: closes the inherited listening socket, keeps the file.
  void ForgetAfterFork();

 private:
  char xdg_runtime_dir_[512] = {};
  char path_[128] = {};
  int fd_ = -1;
  pid_t owner_pid_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_SERVICE_CONTROL_SOCKET_H_
