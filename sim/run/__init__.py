"""Running scenarios: the Python API (:mod:`sim.run.api`), outputs, and the result store."""
