// File: tools/sim/output_file.h
// Files circuit_sim writes whole or not at all: the content goes to a
// temporary file beside the target, which is renamed over it only once
// everything was written, so a failed run leaves no half-written trace,
// timeline or plot behind.
#ifndef CIRCUIT_TOOLS_SIM_OUTPUT_FILE_H_
#define CIRCUIT_TOOLS_SIM_OUTPUT_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace circuit {
namespace sim {

// ResolvePath()
// `path` as the user meant it: under `bazel run`, relative to the directory
// the command was typed in (BUILD_WORKING_DIRECTORY), not the runfiles.
// "-" (standard input or output) and absolute paths are returned as given.
std::string ResolvePath(absl::string_view path);

// WriteFileAtomically()
// Writes `content` to `path` through a temporary file and a rename. The
// errno's message, naming the path, on failure (nothing is left behind).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

// ReplaceWith()
// Renames `temp` (written whole) over `path`; on failure removes `temp`
// and returns the errno's message naming `path`.
absl::Status ReplaceWith(const std::string& temp, const std::string& path);

// TemporaryPathFor()
// A fresh name in `path`'s directory, ending like `path` (so a tool that
// picks a format by extension still sees it): "dir/.name.XXXXXX.png".
std::string TemporaryPathFor(const std::string& path);

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_OUTPUT_FILE_H_
