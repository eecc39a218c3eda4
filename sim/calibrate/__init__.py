"""Calibration: the reported figures the model is measured against (:mod:`.targets`)."""
