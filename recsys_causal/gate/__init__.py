"""Pre-launch OPE screening gate: ``causal-gate screen.yaml`` and the :func:`screen` API."""

from recsys_causal.gate.cli import main, run_config
from recsys_causal.gate.config import GateConfig, load_gate_config
from recsys_causal.gate.screen import CandidateVerdict, GateResult, Guardrail, screen

__all__ = ["CandidateVerdict", "GateConfig", "GateResult", "Guardrail", "load_gate_config", "main", "run_config",
           "screen"]
