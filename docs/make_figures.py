"""Make every example figure under docs/figures/ (shown in the README), at a small scale.

Usage (from the project folder)::

    python docs/make_figures.py

What it runs, and the figures it writes (PNG, 200 dpi, memo width):

* the default scenario ``mobilization-2022`` once at scale 0.02 (its seed), drawn as
  ``crossings plot`` draws a run: ``entries_by_country``, ``entries_by_crossing``
  (with the reported figures of ``calibration/targets.yaml``), ``waits``, ``queues``,
  ``stocks``, ``flows`` and ``map``;
* ``us-asylum-track`` once at scale 0.1 (enough for a few claims to reach the US):
  ``asylum``;
* ``finland-stays-open`` against the default, 8 replicates at scale 0.02, with common
  random numbers and with independent seeds: ``fan_entries``, ``difference_entries``,
  ``fan_waits`` and ``crn_vs_independent``;
* the shipped sweeps, ``upper-lars-capacity`` at scale 0.01 (``sweep_response``,
  ``sweep_tornado``) and ``sobol-departures`` at scale 0.005 (``sweep_sobol``).

Takes about ten minutes on two cores; intermediate outputs go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sim
from sim.report.comparison import write_comparison_figures, write_crn_figure
from sim.report.plot import plot
from sim.run.api import package_version
from sim.run.compare import compare
from sim.run.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "figures"
SCENARIOS = ROOT / "scenarios"
BASE = SCENARIOS / "mobilization-2022.yaml"
POLICY = SCENARIOS / "finland-stays-open.yaml"
REPLICATES, SCALE = 8, 0.02
CRN_MEASURES = ["entries.FI", "entries.GE", "entries.NO", "returns.FI", "people.in_country"]
RUN_FIGURES = ("entries_by_country", "entries_by_crossing", "waits", "queues", "stocks", "flows", "map")


def _copy(source: Path, name: str) -> None:
    target = OUT / f"{name}.png"
    shutil.copyfile(source, target)
    print(f"{target.relative_to(ROOT)}  {target.stat().st_size / 1024:.0f} kB")


def _relative(path: Path) -> Path:
    """Paths as the project names them, so no figure carries this machine's folders."""
    return path.relative_to(ROOT)


def main() -> None:
    os.chdir(ROOT)  # scenarios named relative to the project, as a user would
    OUT.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crossings-docs-") as scratch:
        tmp = Path(scratch)

        run_dir = tmp / "run"
        sim.run(_relative(BASE), scale=SCALE).write(run_dir, figures=False)
        plotted = plot(run_dir, out=tmp / "run-figures", formats=("png",))
        for name in RUN_FIGURES:
            _copy(tmp / "run-figures" / f"{name}.png", name)

        asylum_dir = tmp / "asylum"
        sim.run(_relative(SCENARIOS / "us-asylum-track.yaml"), scale=0.1).write(asylum_dir, figures=False)
        plot(asylum_dir, out=tmp / "asylum-figures", formats=("png",))
        _copy(tmp / "asylum-figures" / "asylum.png", "asylum")

        paired = compare(_relative(BASE), _relative(POLICY), replicates=REPLICATES, scale=SCALE)
        independent = compare(_relative(BASE), _relative(POLICY), replicates=REPLICATES, scale=SCALE, independent=True)
        write_crn_figure(paired, independent, CRN_MEASURES, OUT / "crn_vs_independent", version=package_version())
        print("docs/figures/crn_vs_independent.png")
        for measure in CRN_MEASURES:
            a, b = paired.row(measure), independent.row(measure)
            print(f"  {measure:<20} difference {a.difference:>10,.0f}  ±{a.half_width:>8,.0f} paired  "
                  f"±{b.half_width:>8,.0f} independent  ({b.half_width / a.half_width:.1f}x)")
        (tmp / "cmp").mkdir()
        for path in write_comparison_figures(paired.replicate_daily, paired.to_json(), tmp / "cmp"):
            _copy(path, path.stem)

        for sweep, scale, figures in (
            ("upper-lars-capacity", 0.01, {"response": "sweep_response", "tornado": "sweep_tornado"}),
            ("sobol-departures", 0.005, {"sobol": "sweep_sobol"}),
        ):
            store = tmp / sweep
            run_sweep(_relative(SCENARIOS / "sweeps" / f"{sweep}.yaml"), store, scale=scale)
            made = plot(store, out=tmp / f"{sweep}-figures", formats=("png",))
            for path in made.files:
                if path.stem in figures:
                    _copy(path, figures[path.stem])
    for note in plotted.notes:
        print(f"note: {note}", file=sys.stderr)
    total = sum(p.stat().st_size for p in OUT.glob("*.png"))
    print(f"docs/figures: {len(list(OUT.glob('*.png')))} figures, {total / 1e6:.1f} MB, in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
