"""``causal-gate screen.yaml [--json PATH] [--markdown PATH] [--html PATH] [--quiet | --verbose] [--debug]``.

Exit codes: 0 every candidate passes; 1 some candidate fails; 3 inconclusive and none fails; 2 invalid config,
input or output path (a message naming the problem and the fix, no traceback unless ``--debug``); 4 an
unexpected internal error (rerun with ``--debug``); 130 interrupted. Exit 1 only ever means "fail".

The gate writes exactly the outputs asked for and nothing else: for each of JSON, Markdown and HTML the path given
on the command line, else the one in ``output:`` of the YAML, else none (no default file names; with none named,
no file is written). ``--help`` lists every option and the exit codes; ``--version`` prints the version.

The Markdown summary is printed to stdout (for a CI log or a pull-request comment) unless an output is sent to
standard output with ``-``. Outputs: before the log is read, an output that resolves (after symlinks, ``..`` and
the file system's case rules) to the config, the decision log (or a file inside a log directory), the outcome
events or another output is refused (exit 2), as is a directory, a device node, a symbolic link or a path under a
regular file. Every file is written to a temporary beside its target and all are renamed together: a run
replaces all of its outputs or none (nothing is left behind on exit 2) and files follow the umask. Paths given on
the command line are relative to the working directory, paths in ``output:`` relative to the YAML. Progress
steps, the data accounting and caveats go to stderr through the ``recsys_causal`` logger
(:mod:`recsys_causal.cli_logging`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from recsys_causal.cli_errors import add_common_options, guarded_run
from recsys_causal.cli_logging import cli_logging, log_counts
from recsys_causal.config_io import resolve
from recsys_causal.errors import ConfigError, DataValidationError
from recsys_causal.gate.config import MODEL_KEYS, GateConfig, PolicySpec, RewardModelSpec, load_gate_config
from recsys_causal.gate.screen import GateResult, Guardrail, screen
from recsys_causal.ope.evaluate import reward_label

EXIT_INTERNAL = 4
LOG = logging.getLogger(__name__)


def build_policy(log, spec: PolicySpec, mode: str = "top_slot"):
    """The target policy of a candidate over ``spec.slate_size`` positions (default: 1 in top_slot mode, else
    the largest logged position)."""
    from recsys_causal.ope import policies

    k = spec.slate_size or (1 if mode == "top_slot" else max(int(log.position[log.shown].max()), 1))
    if spec.kind == "softmax":
        return policies.softmax(log, spec.score, k, temperature=spec.temperature, name=spec.name)
    if spec.kind == "top_k":
        return policies.top_k(log, spec.score, k, name=spec.name)
    if spec.kind == "epsilon_greedy":
        return policies.epsilon_greedy(log, policies.top_k(log, spec.score, k), spec.epsilon, name=spec.name)
    if spec.kind == "column":
        return policies.from_column(log, spec.column, name=spec.name)
    return policies.uniform(log, k, name=spec.name)


def build_reward_model(spec, seed: int = 0):
    """The reward model of the config: prediction column(s) as given, or a cross-fitted
    :class:`~recsys_causal.ope.reward_model.RewardModel` with the chosen learner (single-threaded)."""
    if not isinstance(spec, RewardModelSpec):
        return spec
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression, Ridge

    from recsys_causal.ope.reward_model import RewardModel

    learner = {"hgb": None, "ridge": Ridge(alpha=1.0), "linear": LinearRegression(),
               "forest": RandomForestRegressor(n_estimators=100, min_samples_leaf=20, random_state=seed, n_jobs=1)}
    return RewardModel(estimator=learner[spec.learner], features=None if spec.features is None else
                       tuple(spec.features), folds=spec.folds, seed=seed, clip=spec.clip)


def check_against_log(cfg: GateConfig, log) -> None:
    """Every column the config names exists in ``log`` (else a :class:`ConfigError` naming the YAML key, the
    nearest match and the choices), and every reward has at least one non-zero labelled value on a shown
    candidate: a reward that is 0 everywhere (wrong event name, label window too short) cannot rank policies
    and its relative lift is undefined, so it is a :class:`DataValidationError` (exit 2), not a verdict."""
    import numpy as np

    rewards = [("primary.reward", cfg.primary.reward)]
    rewards += [(f"guardrails[{i}].reward", g.reward) for i, g in enumerate(cfg.guardrails)]
    for key, reward in rewards:
        names = [reward] if isinstance(reward, str) else list(reward)
        for name in names:
            _known(f"{key}" if isinstance(reward, str) else f"{key}.{name}", name, log.reward_columns,
                   "outcome columns", "name an outcome column of the log or a label of log.labels")
        values = log.reward(reward) if isinstance(reward, str) else log.composite_reward(reward)
        values = values[log.shown & np.isfinite(values)]
        if values.size == 0:
            raise DataValidationError(f"{key}: reward {reward!r} has no observed value on any shown candidate "
                                      "(every label is immature or missing)", source=log.source, column=key,
                                      fix="move log.as_of later or analyse an earlier cohort")
        if not np.any(values != 0):
            raise DataValidationError(f"{key}: reward {reward!r} is 0 on all {values.size} labelled impressions, "
                                      "so no policy can be told apart (and a relative lift is undefined)",
                                      source=log.source, column=key, count=int(values.size),
                                      fix="check the event name and the label window in log.labels, or choose "
                                          "another reward")
    preds = [f"pred_{c}" for c in log.prediction_columns] + (["score"] if "score" in log.candidates.columns else [])
    scores = set(log.prediction_columns) | set(log.candidates.columns)
    for i, c in enumerate([*cfg.candidates, *([cfg.baseline] if cfg.baseline != "logging" else [])]):
        key = f"candidates[{i}]" if i < len(cfg.candidates) else "baseline"
        if c.kind in ("softmax", "top_k", "epsilon_greedy"):
            _known(f"{key}.score", c.score, scores, "score columns", "name a pred_<name> column of the log",
                   shown=preds)
        if c.kind == "column":
            _known(f"{key}.column", c.column, log.candidates.columns, "candidate columns",
                   "name a column of target probabilities")
    for i, s in enumerate(cfg.protected_segments):
        _known(f"protected_segments[{i}].column", s.column, log.requests.columns, "request columns",
               "name a request-level column such as surface")
    _check_model_and_clusters(cfg, log)


def _check_model_and_clusters(cfg: GateConfig, log) -> None:
    """The reward-model prediction columns (or features) are candidate columns, each mapped reward a reward of
    the config, the cluster column a request column."""
    model = cfg.reward_model
    if isinstance(model, RewardModelSpec):
        columns = {f"reward_model.features[{i}]": c for i, c in enumerate(model.features or [])}
    elif isinstance(model, dict):
        named = [cfg.primary.reward] + [g.reward for g in cfg.guardrails]
        labels = [reward_label(r) for r in named]
        for r in model:
            _known(f"reward_model.{r}", r, labels, "rewards of this config (or model keys)",
                   "map each reward to its prediction column, or give {features, learner, folds}",
                   shown=labels + list(MODEL_KEYS))
        columns = {f"reward_model.{r}": c for r, c in model.items()}
    else:
        columns = {"reward_model": model} if isinstance(model, str) else {}
    for key, column in columns.items():
        _known(key, column, log.candidates.columns, "candidate columns",
               "name the column of reward-model predictions per candidate, or leave reward_model out")
    if cfg.cluster_col:
        _known("cluster_col", cfg.cluster_col, log.requests.columns, "request columns",
               "name a request-level column such as user_id")


def _known(key: str, value: str, choices, what: str, fix: str, shown=None) -> None:
    from recsys_causal.suggest import choices_text, did_you_mean

    if value not in set(choices):
        listed = list(choices) if shown is None else list(shown)
        raise ConfigError(f"{key}: {value!r} is not one of the {what} {choices_text(listed)}"
                          f"{did_you_mean(value, listed)}", column=key, fix=fix)


def run_config(cfg: GateConfig, base: Path) -> GateResult:
    """Load the log named by the config, check the config against it (:func:`check_against_log`) and screen
    its candidates."""
    from recsys_causal.logs import LogFilters, read_decision_log
    from recsys_causal.ope.support import SupportThresholds

    lg = cfg.log
    LOG.info("reading decision log %s", lg.path)
    log, report = read_decision_log(
        resolve(base, lg.path, "log.path"), require_propensity=True, rewards=lg.rewards,
        outcome_events=resolve(base, lg.outcome_events, "log.outcome_events"), labels=lg.labels or None,
        as_of=lg.as_of, filters=LogFilters(start=lg.start, end=lg.end, surfaces=lg.surfaces,
                                           policy_versions=lg.policy_versions))
    check_against_log(cfg, log)
    if cfg.reward_ranges:  # declared ranges win over the binary presumption of the reward check
        log.metadata["reward_ranges"] = {**(log.metadata.get("reward_ranges") or {}), **cfg.reward_ranges}
    cands = {c.name: build_policy(log, c, c.mode or cfg.mode) for c in cfg.candidates}
    per_candidate = {c.name: dict(zip(("mode", "estimator", "cross_check"), (c.mode or cfg.mode,
                                                                           *cfg.estimators_of(c)), strict=True))
                     for c in cfg.candidates}
    baseline = None if cfg.baseline == "logging" else build_policy(log, cfg.baseline, cfg.mode)
    LOG.info("screening %d candidate(s) on %d requests", len(cands), log.n_requests)
    th = SupportThresholds(min_ess_ratio=cfg.support.min_ess_ratio, max_weight_share=cfg.support.max_weight_share,
                           max_unsupported_mass=cfg.support.max_unsupported_mass)
    return screen(log, cands, primary=cfg.primary.reward, min_lift=cfg.primary.min_lift,
                  relative=cfg.primary.relative,
                  guardrails=[Guardrail(g.reward, g.direction, g.margin, g.relative) for g in cfg.guardrails],
                  baseline=baseline, estimator=cfg.estimator if "estimator" in cfg.model_fields_set else None,
                  cross_check=cfg.cross_check if "cross_check" in cfg.model_fields_set else None, alpha=cfg.alpha,
                  multiplicity=cfg.multiplicity, thresholds=th,
                  protected_segments=[(s.column, s.values) for s in cfg.protected_segments], name=cfg.name,
                  seed=cfg.seed, validation=report, max_quarantine_share=cfg.max_quarantine_share,
                  reward_model=build_reward_model(cfg.reward_model, cfg.seed), cluster_col=cfg.cluster_col,
                  mode=cfg.mode, per_candidate=per_candidate, per_version=cfg.support.per_version,
                  multi_logger=cfg.multi_logger, version_col=cfg.version_col)


def gate_inputs(cfg: GateConfig, base: Path, config_path: str | Path) -> dict[str, Path]:
    """Everything a gate run reads: the config, the decision log (file or directory) and the outcome events."""
    inputs = {"config": Path(config_path), "log.path": base / cfg.log.path}
    if cfg.log.outcome_events:
        inputs["log.outcome_events"] = base / cfg.log.outcome_events
    return inputs


def _run(args) -> tuple:
    """Check the outputs against the inputs, screen, and write every requested output; (plan, result)."""
    from recsys_causal.outputs import OutputPlan, config_output

    cfg, base = load_gate_config(args.config)
    outs: dict[str, Path] = {}
    for kind, arg, value in (("json", args.json_out, cfg.output.json_path),
                             ("markdown", args.markdown, cfg.output.markdown), ("html", args.html, cfg.output.html)):
        if arg:
            outs[f"--{kind}"] = Path(arg)
        elif value:
            outs[f"output.{kind}"] = config_output(base, value)
    inputs = gate_inputs(cfg, base, args.config)
    LOG.debug("inputs: %s", ", ".join(f"{k}={v}" for k, v in inputs.items()))
    LOG.debug("outputs: %s", ", ".join(f"{k}={v}" for k, v in outs.items()) or "none")
    plan = OutputPlan(outs, inputs)
    result = run_config(cfg, base)
    log_gate_quality(LOG, result)
    LOG.info("writing %s", ", ".join(outs) or "no file (summary only)")
    texts = {"json": result.to_json, "markdown": result.to_markdown, "html": result.to_html}
    plan.write({label: texts[label.split(".")[-1].lstrip("-")]() for label in outs})
    return plan, result


EPILOG = """\
outputs:
  The gate writes exactly the files named on the command line or in the YAML, nothing else: for each of
  JSON, Markdown and HTML, the path given with --json / --markdown / --html, else output.json /
  output.markdown / output.html of the YAML (relative to the YAML), else none; there are no default file
  names. With no output named it writes no file and only prints the Markdown summary. The summary goes to
  standard output unless an output is sent there with '-'. Outputs are checked against the inputs before
  the log is read and replaced all together or not at all; missing directories are created.

stderr:
  Progress steps, data-quality counts (requests read, used, quarantined and excluded by reason) and each
  statistical caveat on one 'warning:' line; --verbose adds detail, --quiet leaves errors only. Progress
  bars show when stderr is a terminal (RECSYS_CAUSAL_PROGRESS=0 turns them off, =1 on).

exit codes:
  0    every candidate passes
  1    some candidate fails (exit 1 only ever means "fail")
  3    inconclusive, and no candidate fails
  2    invalid config, input or output path: one line naming the problem and the fix
       (also a caveat made an error with -W error::recsys_causal.StatisticalWarning)
  4    unexpected internal error (rerun with --debug for the traceback)
  130  interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``causal-gate`` argument parser (every option has a help sentence; exit codes in the epilog)."""
    ap = argparse.ArgumentParser(prog="causal-gate", description="Pre-launch off-policy screen of candidate "
                                 "rankers against the logging policy, from a decision log.", epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="the screen YAML; paths in it are relative to its directory")
    ap.add_argument("--json", dest="json_out", metavar="PATH",
                    help="write the JSON result to PATH (instead of output.json of the YAML); - for standard output")
    ap.add_argument("--markdown", metavar="PATH", help="write the Markdown summary to PATH (instead of "
                    "output.markdown of the YAML); - for standard output")
    ap.add_argument("--html", metavar="PATH",
                    help="write the HTML page to PATH (instead of output.html of the YAML); - for standard output")
    return add_common_options(ap)


def log_gate_quality(logger: logging.Logger, result: GateResult) -> None:
    """The screen's data accounting as INFO lines: requests read and quarantined by reason, then per reward
    used and excluded by reason (read = used + quarantined + excluded)."""
    qualities = [("log", result.data_quality)] + [(f"candidate {c.name}", c.data_quality) for c in result.candidates]
    for label, q in qualities:
        if q is None:
            continue
        log_counts(logger, f"{label} {q.source or ''}".rstrip(), {"requests read": q.read,
                                                                  "quarantined": q.quarantined})
        for r in q.rewards:
            log_counts(logger, f"{label} reward {r.reward} ({r.role})", {"used": r.used, "excluded": r.excluded})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with cli_logging("causal-gate", quiet=args.quiet, verbose=args.verbose):
        code, ran = guarded_run("causal-gate", lambda: _run(args), debug=args.debug, exit_internal=EXIT_INTERNAL)
    if code is not None:
        return code
    assert ran is not None  # guarded_run returns the action's result whenever the code is None
    plan, result = ran
    if plan.stdout_label is None:
        print(result.to_markdown())
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
