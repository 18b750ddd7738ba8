"""Draws circuit_sim's timeline: the trace's failure and slow-call rates with
its outages shaded, then one row per config: its state as a colored band and
its rejections per second. Several configs make one figure, side by side in
time, so they can be compared at a glance.

  python3 plot_timeline.py TIMELINE.csv OUTAGES.csv OUT.png TITLE

TIMELINE.csv and OUTAGES.csv are what circuit_sim writes (TimelineCsv and
OutagesCsv in tools/sim/summary.h). Needs matplotlib (Debian's
python3-matplotlib). circuit_sim embeds this file and runs it itself.
"""

import csv
import sys

STATE_COLORS = {
    "CLOSED": "#d8f0d8",
    "HALF_OPEN": "#ffd27f",
    "OPEN": "#f4a09c",
    "FORCED_OPEN": "#b04040",
    "DISABLED": "#dddddd",
    "METRICS_ONLY": "#c8d8f0",
}


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    timeline_path, outages_path, png_path, title = argv[1:]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError as e:
        sys.stderr.write(
            "plotting needs matplotlib (apt-get install python3-matplotlib): %s\n" % e)
        return 3

    with open(timeline_path) as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    configs = [name[len("state:"):] for name in header if name.startswith("state:")]
    with open(outages_path) as f:
        outages = [(float(r[0]), float(r[1])) for r in list(csv.reader(f))[1:]]

    t = [float(r[col["seconds"]]) for r in data]
    bucket = t[1] - t[0] if len(t) > 1 else 1.0
    failure = [float(r[col["failure_pct"]]) for r in data]
    slow = [float(r[col["slow_pct"]]) for r in data]

    fig, axes = plt.subplots(1 + len(configs), 1, sharex=True,
                             figsize=(11, 2.2 + 1.6 * len(configs)), squeeze=False)
    axes = [a[0] for a in axes]
    top = axes[0]
    for start, end in outages:
        for ax in axes:
            ax.axvspan(start, end, color="#999999", alpha=0.12, lw=0)
    top.plot(t, failure, color="#c0392b", lw=1, label="failure rate %")
    if any(s > 0 for s in slow):
        top.plot(t, slow, color="#8e44ad", lw=1, label="slow-call rate %")
    top.set_ylim(0, 105)
    top.set_ylabel("trace %")
    top.legend(loc="upper right", fontsize=8)
    top.set_title(title, fontsize=10)

    for ax, name in zip(axes[1:], configs):
        states = [r[col["state:" + name]] for r in data]
        rejected = [float(r[col["rejected_per_s:" + name]]) for r in data]
        # The state band: one span per run of equal states.
        run_start = 0
        for i in range(1, len(states) + 1):
            if i == len(states) or states[i] != states[run_start]:
                ax.axvspan(t[run_start], t[i - 1] + bucket,
                           color=STATE_COLORS.get(states[run_start], "#ffffff"), lw=0)
                run_start = i
        ax.plot(t, rejected, color="#2c3e50", lw=1)
        ax.set_ylabel("rejected/s", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.text(0.005, 0.92, name, transform=ax.transAxes, fontsize=9, va="top",
                bbox=dict(facecolor="white", alpha=0.8, lw=0))
    handles = [Patch(color=STATE_COLORS[s], label=s) for s in ("CLOSED", "HALF_OPEN", "OPEN")]
    handles.append(Patch(color="#999999", alpha=0.3, label="outage"))
    axes[-1].legend(handles=handles, loc="upper right", fontsize=7, ncol=4)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
