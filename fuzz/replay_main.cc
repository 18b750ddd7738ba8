// File: fuzz/replay_main.cc
// Replays fuzz inputs through LLVMFuzzerTestOneInput() without libFuzzer, so
// that the seed corpus and every saved regression run in the plain gcc
// `bazel test //...` (target //fuzz:fuzz_regression_test).
//
// Usage: replay [DIR_OR_FILE...]   (default: fuzz/corpus fuzz/regressions)
//
// Each input runs in a child process, since a mismatch traps: the test
// names every input that failed, prints "fuzz replay: N passed, N failed"
// and exits 1 if any failed. Files ending in .md are documentation, not
// inputs.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Coverage builds (clang -fprofile-instr-generate, gcc --coverage) write
// their data at exit, which a child leaving by _exit() skips: flush it by
// hand. Weak, so that a plain build links without them.
extern "C" int __llvm_profile_write_file(void) __attribute__((weak));
extern "C" void __gcov_dump(void) __attribute__((weak));

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void Collect(const std::string& path, std::vector<std::string>* files) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;  // an absent directory holds no input
  if (S_ISREG(st.st_mode)) {
    if (!EndsWith(path, ".md")) files->push_back(path);
    return;
  }
  if (!S_ISDIR(st.st_mode)) return;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    names.push_back(entry->d_name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) Collect(path + "/" + name, files);
}

int RunOne(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return 2;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return 3;
  if (pid == 0) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::fflush(nullptr);
    if (__llvm_profile_write_file != nullptr) __llvm_profile_write_file();
    if (__gcov_dump != nullptr) __gcov_dump();
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 3;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  std::printf("  (killed by signal %d)\n", WTERMSIG(status));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> roots;
  for (int i = 1; i < argc; ++i) roots.push_back(argv[i]);
  if (roots.empty()) roots = {"fuzz/corpus", "fuzz/regressions"};
  std::vector<std::string> files;
  for (const std::string& root : roots) Collect(root, &files);
  int passed = 0;
  int failed = 0;
  for (const std::string& path : files) {
    std::printf("replay %s\n", path.c_str());
    if (RunOne(path) == 0) {
      ++passed;
    } else {
      ++failed;
      std::printf("FAILED %s\n", path.c_str());
    }
  }
  std::printf("fuzz replay: %d passed, %d failed\n", passed, failed);
  if (files.empty()) {
    std::printf("no input found under the given paths\n");
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
