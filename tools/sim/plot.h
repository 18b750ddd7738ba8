// File: tools/sim/plot.h
// The replay's timeline drawn as a PNG: the trace's failure and slow-call
// rates with its outages shaded, and one row per config with its state and
// rejections, all on one time axis (plot_timeline.py, embedded in the tool
// and run with Debian's python3-matplotlib).
#ifndef CIRCUIT_TOOLS_SIM_PLOT_H_
#define CIRCUIT_TOOLS_SIM_PLOT_H_

#include <string>

#include "absl/status/status.h"
#include "replay.h"

namespace circuit {
namespace sim {

// DefaultPython()
// Debian's /usr/bin/python3 when it exists (where python3-matplotlib
// installs), else "python3" from PATH.
std::string DefaultPython();

// DrawPlot()
// Writes the plot of `report` to `png_path` (replacing it only once it is
// drawn), titled `title`, running `python`. FailedPreconditionError with
// the interpreter's exit status when it fails (its own message, e.g. that
// matplotlib is missing, goes to standard error); nothing is written then.
absl::Status DrawPlot(const Report& report, const std::string& png_path,
                      const std::string& title, const std::string& python);

}  // namespace sim
}  // namespace circuit

#endif  // CIRCUIT_TOOLS_SIM_PLOT_H_
