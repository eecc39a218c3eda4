"""Make the example figures under docs/figures/ (shown in the README).

Usage (from the project folder)::

    python docs/make_figures.py

Runs the comparison of the default scenario with ``finland-stays-open`` twice, with
common random numbers and with independent seeds, and draws their intervals side by
side.  Takes about a minute.
"""

from __future__ import annotations

from pathlib import Path

from sim.report.comparison import write_crn_figure
from sim.run.api import package_version
from sim.run.compare import compare

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "mobilization-2022.yaml"
POLICY = ROOT / "scenarios" / "finland-stays-open.yaml"
REPLICATES, SCALE = 8, 0.02
MEASURES = ["entries.FI", "entries.GE", "entries.NO", "returns.FI", "people.in_country"]


def main() -> None:
    paired = compare(BASE, POLICY, replicates=REPLICATES, scale=SCALE)
    independent = compare(BASE, POLICY, replicates=REPLICATES, scale=SCALE, independent=True)
    out = ROOT / "docs" / "figures" / "crn_vs_independent"
    for path in write_crn_figure(paired, independent, MEASURES, out, version=package_version()):
        print(path.relative_to(ROOT))
    for measure in MEASURES:
        a, b = paired.row(measure), independent.row(measure)
        print(f"{measure:<20} difference {a.difference:>10,.0f}  ±{a.half_width:>8,.0f} paired  ±{b.half_width:>8,.0f} independent  ({b.half_width / a.half_width:.1f}x)")


if __name__ == "__main__":
    main()
