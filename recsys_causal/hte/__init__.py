"""Heterogeneous treatment effects: pre-defined segments, econml CATE, calibration tests, exploratory trees."""

from recsys_causal.hte.calibration import CalibrationResult, calibration_test
from recsys_causal.hte.cate import CateFit, KnownPropensity, aipw_ate, check_pre_treatment, fit_cate
from recsys_causal.hte.plots import forest_plot
from recsys_causal.hte.segments import SegmentReadout, segment_effects
from recsys_causal.hte.tree import segment_tree

__all__ = [
    "CalibrationResult",
    "CateFit",
    "KnownPropensity",
    "SegmentReadout",
    "aipw_ate",
    "calibration_test",
    "check_pre_treatment",
    "fit_cate",
    "forest_plot",
    "segment_effects",
    "segment_tree",
]
