"""Figures and other human-readable outputs of runs.

:mod:`sim.report.style` fixes the look shared by every figure (palette, sizes,
title/subtitle/source line, atomic saving); :mod:`sim.report.figures` draws the
standard figures of one run from its daily table.
"""

from sim.report.figures import write_run_figures

__all__ = ["write_run_figures"]
