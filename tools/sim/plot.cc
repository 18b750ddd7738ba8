// File: tools/sim/plot.cc
// Runs the embedded plot_timeline.py on the report's CSV timelines, in a
// temporary directory that is removed afterwards.
#include "plot.h"

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "output_file.h"
#include "summary.h"

extern char** environ;

namespace circuit {
namespace sim {
namespace {

// plot_timeline.py, as the genrule "plot_script" wraps it in a raw string.
constexpr char kPlotScript[] =
#include "tools/sim/plot_script.inc"
    ;

// Removes a directory and the files in it on scope exit.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                       "/circuit_sim.XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TemporaryDirectory() {
    for (const std::string& file : files_) unlink(file.c_str());
    if (!path_.empty()) rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string File(absl::string_view name) {
    files_.push_back(absl::StrCat(path_, "/", name));
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

}  // namespace

std::string DefaultPython() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

absl::Status DrawPlot(const Report& report, const std::string& png_path,
                      const std::string& title, const std::string& python) {
  TemporaryDirectory dir;
  if (dir.path().empty()) return absl::ErrnoToStatus(errno, "cannot make a temporary directory");
  const std::string script = dir.File("plot_timeline.py");
  const std::string timeline = dir.File("timeline.csv");
  const std::string outages = dir.File("outages.csv");
  for (const auto& [path, content] :
       {std::pair<std::string, std::string>{script, kPlotScript},
        {timeline, TimelineCsv(report)},
        {outages, OutagesCsv(report)}}) {
    absl::Status written = WriteFileAtomically(path, content);
    if (!written.ok()) return written;
  }
  const std::string partial = TemporaryPathFor(png_path);
  if (partial.empty()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", png_path));
  std::vector<std::string> args = {python, script, timeline, outages, partial, title};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int spawned = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ);
  if (spawned != 0) {
    unlink(partial.c_str());
    return absl::ErrnoToStatus(spawned, absl::StrCat("cannot run ", python));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    unlink(partial.c_str());
    return absl::FailedPreconditionError(absl::StrCat(
        "drawing ", png_path, " failed: ", python, " ",
        WIFEXITED(status) ? absl::StrCat("exited with ", WEXITSTATUS(status))
                          : absl::StrCat("was killed by signal ", WTERMSIG(status))));
  }
  return ReplaceWith(partial, png_path);
}

}  // namespace sim
}  // namespace circuit
