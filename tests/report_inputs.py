"""Inputs of the report tests: the small scenarios, a targets file for them, and one memo built from them.

The memo is built once per test session (``conftest.memo_folder``): it runs the
baseline and the policy three times each, scores the baseline against the targets
(a fit report of two runs), and draws every figure of a run and of a comparison, so
the figure tests and the memo tests check the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from report_scenarios import report_policy, report_scenario

TARGETS = """\
description: reported figures made up for the report tests
scenario: base.yaml
targets:
  - id: fi-day
    source: Test border guard, 25 Sept
    quote: "Finland: 500 on 25 Sept"
    place: FI
    measure: entries
    aggregate: daily
    date: 2022-09-25
    value: 500
    tolerance: 0.2
    use: fit
  - id: kz-week
    source: seeds/000_1790692eca6e005b.txt (a ministry)
    quote: "Kazakhstan: 5,000 to 8,000 a day that week"
    place: KZ
    measure: entries
    aggregate: mean
    from: 2022-09-22
    until: 2022-09-28
    range: [5000, 8000]
    use: check
  - id: kz-two-crossings
    source: Test press, 24 Sept (reported-figures.md)
    quote: "Syrym and Kairak together: 9,000"
    place: [syrym, kairak]
    measure: entries
    aggregate: daily
    date: 2022-09-24
    value: 9000
    tolerance: 0.1
    use: fit
"""

REPLICATES = 3


@dataclass
class MemoFolder:
    """The memo built for the tests, its inputs, and the figures as they were handed to the style's finish."""

    inputs: Path
    base: Path
    policy: Path
    targets: Path
    fitted: Path
    memo: object  # sim.report.memo.Memo
    captured: dict


def write_inputs(folder: Path) -> tuple[Path, Path, Path]:
    """The base and policy scenarios (JSON is YAML) and the targets file, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    base, policy, targets = folder / "base.yaml", folder / "policy.yaml", folder / "targets.yaml"
    base.write_text(json.dumps(report_scenario(), indent=1), encoding="utf-8")
    policy.write_text(json.dumps(report_policy(), indent=1), encoding="utf-8")
    targets.write_text(TARGETS, encoding="utf-8")
    return base, policy, targets


def build_memo(root: Path) -> MemoFolder:
    """Write the inputs, a fit report of the baseline and the memo under ``root``."""
    import pytest

    from sim.calibrate.fit import fit_report
    from sim.report import style
    from sim.report.memo import make_memo

    inputs = root / "inputs"
    base, policy, targets = write_inputs(inputs)
    fitted = root / "fitted"
    fit_report(base, targets, replicates=2, out=fitted / "as-set", workers=1)
    captured: dict = {}
    real_finish = style.finish

    def spy(fig, ax_list, **kwargs):
        captured[Path(kwargs["path_stem"]).name] = fig
        return real_finish(fig, ax_list, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(style, "finish", spy)
        memo = make_memo(base, [policy], root / "memo", replicates=REPLICATES, scale=None, targets=targets,
                         fitted=fitted)
    return MemoFolder(inputs, base, policy, targets, fitted, memo, captured)
