"""``causal-gate screen.yaml [--json PATH] [--markdown PATH] [--html PATH] [--debug]``.

Exit codes: 0 every candidate passes; 1 some candidate fails; 3 inconclusive and none fails; 2 invalid config
or input (a message naming the problem, no traceback unless ``--debug``). The Markdown summary is printed to
stdout (for a CI log or a pull-request comment); files are written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recsys_causal.config_io import resolve
from recsys_causal.errors import RecsysCausalError
from recsys_causal.gate.config import GateConfig, PolicySpec, load_gate_config
from recsys_causal.gate.screen import EXIT_INVALID, GateResult, Guardrail, screen


def build_policy(log, spec: PolicySpec):
    from recsys_causal.ope import policies

    if spec.kind == "softmax":
        return policies.softmax(log, spec.score, 1, temperature=spec.temperature, name=spec.name)
    if spec.kind == "top_k":
        return policies.top_k(log, spec.score, 1, name=spec.name)
    if spec.kind == "epsilon_greedy":
        return policies.epsilon_greedy(log, policies.top_k(log, spec.score, 1), spec.epsilon, name=spec.name)
    if spec.kind == "column":
        return policies.from_column(log, spec.column, name=spec.name)
    return policies.uniform(log, 1, name=spec.name)


def run_config(cfg: GateConfig, base: Path) -> GateResult:
    """Load the log named by the config and screen its candidates."""
    from recsys_causal.logs import LogFilters, read_decision_log
    from recsys_causal.ope.support import SupportThresholds

    lg = cfg.log
    log, report = read_decision_log(
        resolve(base, lg.path, "log.path"), require_propensity=True,
        outcome_events=resolve(base, lg.outcome_events, "log.outcome_events"), labels=lg.labels or None,
        as_of=lg.as_of, filters=LogFilters(start=lg.start, end=lg.end, surfaces=lg.surfaces,
                                           policy_versions=lg.policy_versions))
    cands = {c.name: build_policy(log, c) for c in cfg.candidates}
    baseline = None if cfg.baseline == "logging" else build_policy(log, cfg.baseline)
    th = SupportThresholds(min_ess_ratio=cfg.support.min_ess_ratio, max_weight_share=cfg.support.max_weight_share,
                           max_unsupported_mass=cfg.support.max_unsupported_mass)
    return screen(log, cands, primary=cfg.primary.reward, min_lift=cfg.primary.min_lift,
                  relative=cfg.primary.relative,
                  guardrails=[Guardrail(g.reward, g.direction, g.margin, g.relative) for g in cfg.guardrails],
                  baseline=baseline, estimator=cfg.estimator, cross_check=cfg.cross_check, alpha=cfg.alpha,
                  multiplicity=cfg.multiplicity, thresholds=th,
                  protected_segments=[(s.column, s.values) for s in cfg.protected_segments], name=cfg.name,
                  seed=cfg.seed, validation=report, max_quarantine_share=cfg.max_quarantine_share)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="causal-gate", description="Pre-launch OPE screen of candidate rankers.")
    ap.add_argument("config", help="screen.yaml")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--markdown")
    ap.add_argument("--html")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)
    try:
        from recsys_causal.io_utils import atomic_write_text

        cfg, base = load_gate_config(args.config)
        result = run_config(cfg, base)
        outs = {"json": args.json_out or cfg.output.json_path, "markdown": args.markdown or cfg.output.markdown,
                "html": args.html or cfg.output.html}
        texts = {"json": result.to_json, "markdown": result.to_markdown, "html": result.to_html}
        for kind, target in outs.items():
            if target:
                path = Path(target) if Path(target).is_absolute() or target in (args.json_out, args.markdown,
                                                                                 args.html) else base / target
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, texts[kind]())
    except RecsysCausalError as exc:
        if args.debug:
            raise
        print(f"causal-gate: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(result.to_markdown())
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
