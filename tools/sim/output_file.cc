// File: tools/sim/output_file.cc
#include "output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace circuit {
namespace sim {

std::string ResolvePath(absl::string_view path) {
  if (path == "-" || absl::StartsWith(path, "/")) return std::string(path);
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || *cwd == '\0') return std::string(path);
  return absl::StrCat(cwd, "/", path);
}

std::string TemporaryPathFor(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  const std::string ext = dot == std::string::npos || dot == 0 ? "" : base.substr(dot);
  std::string temp = absl::StrCat(dir, ".", base, ".XXXXXX", ext);
  const int fd = mkstemps(temp.data(), static_cast<int>(ext.size()));
  if (fd < 0) return "";
  // mkstemps() creates it 0600: give it the mode a new file gets here.
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  return temp;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content) {
  const std::string temp = TemporaryPathFor(path);
  if (temp.empty()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) {
    const int error = errno;
    unlink(temp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot write ", path));
  }
  const bool written = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  const int write_error = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    unlink(temp.c_str());
    return absl::ErrnoToStatus(written ? errno : write_error,
                               absl::StrCat("cannot write ", path));
  }
  return ReplaceWith(temp, path);
}

absl::Status ReplaceWith(const std::string& temp, const std::string& path) {
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace sim
}  // namespace circuit
