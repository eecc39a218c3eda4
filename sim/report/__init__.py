"""Figures and memos: everything a reader of a run, a comparison or a sweep looks at.

:mod:`sim.report.style` fixes the look shared by every figure (palette, sizes,
title/subtitle/notes/source line, atomic saving).  The figures: :mod:`~sim.report.figures`
(a run's daily series), :mod:`~sim.report.reported` (reported figures drawn over them),
:mod:`~sim.report.flows` (flow diagram and map), :mod:`~sim.report.comparison` (fan charts,
paired differences), :mod:`~sim.report.sweeps` (response, tornado, Sobol) and
:mod:`~sim.report.fit` (the fit report).  :mod:`~sim.report.plot` draws a folder's figures;
:mod:`~sim.report.memo` writes a memo (:mod:`~sim.report.findings`, ``memo_html``, ``memo_pdf``).
"""

from sim.report.figures import write_run_figures

__all__ = ["write_run_figures"]
