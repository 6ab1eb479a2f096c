"""Off-policy evaluation: target policies, single-slot and slate estimators, reward models, support checks."""

from recsys_causal.ope import policies
from recsys_causal.ope.cascade_dr import CascadeDR
from recsys_causal.ope.estimators import Estimator, available_estimators, get_estimator
from recsys_causal.ope.evaluate import OPEResult, bootstrap_interval, evaluate_policies
from recsys_causal.ope.policies import TargetPolicy
from recsys_causal.ope.reward_model import RewardModel
from recsys_causal.ope.single_slot import DM, DR, IPS, SNDR, SNIPS, DRos, SwitchDR
from recsys_causal.ope.slate import CascadeIPS, PositionIPS, PseudoInverse, SNPositionIPS, StandardSlateIPS
from recsys_causal.ope.support import SupportReport, SupportThresholds, support_report

__all__ = [
    "DM", "DR", "IPS", "SNDR", "SNIPS", "CascadeDR", "CascadeIPS", "DRos", "Estimator", "OPEResult", "PositionIPS",
    "PseudoInverse", "RewardModel", "SNPositionIPS", "StandardSlateIPS", "SupportReport", "SupportThresholds",
    "SwitchDR", "TargetPolicy", "available_estimators", "bootstrap_interval", "evaluate_policies",
    "get_estimator", "policies", "support_report",
]
