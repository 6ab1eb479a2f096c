"""Output safety catalogue: both CLIs and the Python writers never overwrite what they read, replace all of their
outputs or none, follow the umask, and turn every output problem into a typed error (exit 2) naming the path
and the fix.

Every case snapshots the whole project tree (inputs, configs, previous outputs: bytes, modes, links) before the
run and checks afterwards that exactly the expected entries changed: nothing on a failure (so inputs are
byte-identical, previous outputs unchanged and no temporary or new directory is left), exactly the outputs on a
success.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_causal import output_commit, output_paths
from recsys_causal import outputs as outmod
from recsys_causal.errors import InputFileError, OutputError
from recsys_causal.outputs import OutputPlan, case_insensitive, normalise_path, same_path

ROOT = Path(__file__).resolve().parents[2]
UNITS = "decision_logs/sample_holdout_units.parquet"
PREV = b"previous output\n"
GATE_OK = 3  # the shipped screen is inconclusive (a successful run: outputs written)


# ----------------------------------------------------------------------------- project and snapshots


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A copy of the shipped examples and data, plus a Hive copy of the A/B log and configs that read it."""
    import yaml

    from recsys_causal.logs import write_partitioned_log

    root = tmp_path_factory.mktemp("template")
    shutil.copytree(ROOT / "reports" / "examples", root / "reports" / "examples")
    shutil.copytree(ROOT / "decision_logs", root / "decision_logs")
    write_partitioned_log(pd.read_parquet(root / "decision_logs" / "sample_decision_log.parquet"),
                          root / "decision_logs" / "hive")
    screen = yaml.safe_load((root / "reports" / "examples" / "screen.yaml").read_text())
    screen["log"]["path"] = "../../decision_logs/hive"
    (root / "reports" / "examples" / "screen_hive.yaml").write_text(yaml.safe_dump(screen))
    ab = yaml.safe_load((root / "reports" / "examples" / "ab.yaml").read_text())
    ab["data"]["decision_log"] = "../../decision_logs/hive"
    (root / "reports" / "examples" / "ab_hive.yaml").write_text(yaml.safe_dump(ab))
    hold = yaml.safe_load((root / "reports" / "examples" / "holdout.yaml").read_text())
    hold["output"] = {"html": f"../../{UNITS}", "json": "../out/h.json"}
    (root / "reports" / "examples" / "holdout_out_units.yaml").write_text(yaml.safe_dump(hold))
    hold["output"] = {"html": "../out/h.html", "json": "holdout_self.yaml"}
    (root / "reports" / "examples" / "holdout_self.yaml").write_text(yaml.safe_dump(hold))
    gate = dict(screen, log={**screen["log"], "path": "../../decision_logs/sample_decision_log.parquet"})
    gate["output"] = {"json": "../../decision_logs/sample_decision_log.parquet"}
    (root / "reports" / "examples" / "screen_out_log.yaml").write_text(yaml.safe_dump(gate))
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch):
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.chdir(root)
    old_umask = os.umask(0o022)
    yield root
    os.umask(old_umask)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: type, SHA-256 and mode of files, target of links, mode of directories."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st_ = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st_.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st_.st_mode))
            elif stat.S_ISREG(st_.st_mode):
                out[rel] = ("file", hashlib.sha256(Path(p).read_bytes()).hexdigest(), stat.S_IMODE(st_.st_mode))
            else:
                out[rel] = ("special", st_.st_mode)
    return out


def changed(before: dict, after: dict) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


# ----------------------------------------------------------------------------- the case table


@dataclass
class Ctx:
    root: Path
    monkeypatch: pytest.MonkeyPatch
    cleanups: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class Case:
    name: str
    tool: str  # "report:<example>", "gate[:<example>]" or "api"
    args: list[str] = field(default_factory=list)  # output options, paths relative to the project
    code: int = 2  # exit code; for "api" 2 means OutputError, 0 success
    fragments: tuple[str, ...] = ()  # in stderr (or the error message)
    changes: tuple[str, ...] = ()  # entries that must differ afterwards (everything else identical)
    previous: tuple[str, ...] = ()  # outputs that exist before the run (content PREV)
    setup: Callable[[Ctx], None] | None = None
    check: Callable[[Ctx, str, str], None] | None = None  # (ctx, stdout, stderr) extra assertions
    analysis: bool = False  # whether the analysis may run (refusals must come before it)
    run: Callable[[Ctx], None] | None = None  # "api" cases


def report(name, args, cfg="holdout", **kw) -> Case:
    return Case(name, f"report:{cfg}", args, **kw)


def gate(name, args, cfg="screen", **kw) -> Case:
    return Case(name, f"gate:{cfg}", args, **kw)


R_OUT = ["--out", "out/r.html", "--json", "out/r.json"]
G_OUT = ["--json", "out/g.json", "--markdown", "out/g.md", "--html", "out/g.html"]
FIX = "Fix:"


def simulate_case_insensitive(ctx: Ctx) -> None:
    ctx.monkeypatch.setattr(output_paths, "case_insensitive", lambda path: True)


def symlink(link: str, target: str) -> Callable[[Ctx], None]:
    def make(ctx: Ctx) -> None:
        (ctx.root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, ctx.root / link)
    return make


def hardlink(link: str, target: str) -> Callable[[Ctx], None]:
    return lambda ctx: os.link(ctx.root / target, ctx.root / link)


def mkdirs(*names: str) -> Callable[[Ctx], None]:
    def make(ctx: Ctx) -> None:
        for n in names:
            (ctx.root / n).mkdir(parents=True, exist_ok=True)
    return make


def files(**contents: str) -> Callable[[Ctx], None]:
    def make(ctx: Ctx) -> None:
        for n, text in contents.items():
            (ctx.root / n.replace("__", "/")).write_text(text)
    return make


def both(*fns) -> Callable[[Ctx], None]:
    def make(ctx: Ctx) -> None:
        for f in fns:
            f(ctx)
    return make


def skip_if_case_sensitive(ctx: Ctx) -> None:
    if not case_insensitive(ctx.root):
        pytest.skip("this file system is case-sensitive; the normalisation is tested directly and simulated")


def skip_if_case_insensitive(ctx: Ctx) -> None:
    if case_insensitive(ctx.root):
        pytest.skip("this file system ignores case")


COLLISIONS = [
    report("out is the units table", ["--out", UNITS, "--json", "out/r.json"],
           fragments=(UNITS, "--out is the input data.units", FIX)),
    report("json is the units table", ["--out", "out/r.html", "--json", UNITS],
           fragments=(UNITS, "--json is the input data.units")),
    report("out is the config", ["--out", "reports/examples/holdout.yaml", "--json", "out/r.json"],
           fragments=("holdout.yaml", "is the input config")),
    report("out via a symlink to the units table", ["--out", "link.parquet", "--json", "out/r.json"],
           setup=symlink("link.parquet", UNITS), fragments=("link.parquet", "is the input data.units")),
    report("out via '..'", ["--out", f"out/../reports/../{UNITS}", "--json", "out/r.json"],
           fragments=("is the input data.units",)),
    report("out via a symlinked directory", ["--out", "data/sample_holdout_units.parquet", "--json", "out/r.json"],
           setup=symlink("data", "decision_logs"), fragments=("data/sample_holdout_units.parquet", "data.units")),
    report("out is a hard link to the units table", ["--out", "hard.parquet", "--json", "out/r.json"],
           setup=hardlink("hard.parquet", UNITS), fragments=("hard.parquet", "is the input data.units")),
    report("out in another case (case-insensitive, simulated)",
           ["--out", UNITS.upper().replace("DECISION_LOGS", "decision_logs"), "--json", "out/r.json"],
           setup=simulate_case_insensitive, fragments=("SAMPLE_HOLDOUT_UNITS.PARQUET", "is the input data.units")),
    report("out in another case (real case-insensitive file system)",
           ["--out", UNITS.upper().replace("DECISION_LOGS", "decision_logs"), "--json", "out/r.json"],
           setup=skip_if_case_sensitive, fragments=("is the input data.units",)),
    report("--out X --json X", ["--out", "out/r.html", "--json", "out/r.html"],
           fragments=("out/r.html", "--json and --out are the same file", "give each output its own path")),
    report("--out X --json sub/../X", ["--out", "out/r.html", "--json", "out/sub/../r.html"],
           fragments=("--json and --out are the same file",)),
    report("--out and --json differ only in case (simulated)", ["--out", "out/R.HTML", "--json", "out/r.html"],
           setup=simulate_case_insensitive, fragments=("same file",)),
    report("output.html in the YAML is the units table", [], cfg="holdout_out_units",
           fragments=("output.html is the input data.units",)),
    report("output.json in the YAML is the config itself", [], cfg="holdout_self",
           fragments=("output.json is the input config",)),
    report("A/B: out is the decision log", ["--out", "decision_logs/sample_ab_decision_log.parquet",
                                            "--json", "out/r.json"], cfg="ab",
           fragments=("is the input data.decision_log",)),
    report("A/B: json is the covariates table", ["--out", "out/r.html", "--json",
                                                 "decision_logs/sample_ab_users.parquet"], cfg="ab",
           fragments=("is the input data.covariates_table",)),
    report("A/B: out is the OPE screen config", ["--out", "reports/examples/screen.yaml", "--json", "out/r.json"],
           cfg="ab", fragments=("is the input ope_screen",)),
    report("A/B: json is the OPE screen's outcome events",
           ["--out", "out/r.html", "--json", "decision_logs/sample_outcome_events.parquet"], cfg="ab",
           fragments=("ope_screen log.outcome_events",)),
    report("A/B: out is a file inside the Hive decision log",
           ["--out", "decision_logs/hive/date=2026-06-01/part-0.parquet", "--json", "out/r.json"], cfg="ab_hive",
           fragments=("inside the input directory data.decision_log", "outside the input directories")),
    report("A/B: out is a new file inside the Hive decision log",
           ["--out", "decision_logs/hive/report.html", "--json", "out/r.json"], cfg="ab_hive",
           fragments=("inside the input directory data.decision_log",)),
    report("switchback: out is the events", ["--out", "decision_logs/sample_switchback_events.parquet",
                                             "--json", "out/r.json"], cfg="switchback",
           fragments=("is the input data.events",)),
    report("switchback: json is the schedule", ["--out", "out/r.html",
                                                "--json", "decision_logs/sample_switchback_schedule.parquet"],
           cfg="switchback", fragments=("is the input data.schedule",)),
    report("both outputs to stdout", ["--out", "-", "--json", "-"],
           fragments=("standard output", "at most one output")),
    report("/dev/stdout and - together", ["--out", "/dev/stdout", "--json", "-"], fragments=("at most one",)),
    gate("gate: json is the decision log", ["--json", "decision_logs/sample_decision_log.parquet",
                                            "--markdown", "out/g.md", "--html", "out/g.html"],
         fragments=("--json is the input log.path",)),
    gate("gate: markdown is the outcome events", ["--json", "out/g.json", "--markdown",
                                                  "decision_logs/sample_outcome_events.parquet", "--html", "out/g.html"],
         fragments=("--markdown is the input log.outcome_events",)),
    gate("gate: json is the config", ["--json", "reports/examples/screen.yaml", "--markdown", "out/g.md",
                                      "--html", "out/g.html"], fragments=("is the input config",)),
    gate("gate: --json = --markdown", ["--json", "out/g.json", "--markdown", "out/g.json", "--html", "out/g.html"],
         fragments=("--markdown and --json are the same file",)),
    gate("gate: html via a symlink to the log", ["--json", "out/g.json", "--markdown", "out/g.md", "--html", "l.html"],
         setup=symlink("l.html", "decision_logs/sample_decision_log.parquet"), fragments=("is the input log.path",)),
    gate("gate: output.json in the YAML is the log", [], cfg="screen_out_log",
         fragments=("output.json is the input log.path",)),
    gate("gate: json inside the Hive log directory", ["--json", "decision_logs/hive/g.json", "--markdown", "out/g.md",
                                                      "--html", "out/g.html"], cfg="screen_hive",
         fragments=("inside the input directory log.path",)),
    gate("gate: json and html differ only in case (simulated)",
         ["--json", "out/G.json", "--markdown", "out/g.md", "--html", "out/g.JSON"], setup=simulate_case_insensitive,
         fragments=("same file",)),
    gate("gate: two outputs to stdout", ["--json", "-", "--markdown", "-", "--html", "out/g.html"],
         fragments=("at most one",)),
]


def mount_read_only(ctx: Ctx) -> None:
    ro = ctx.root / "ro"
    ro.mkdir()
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot make a read-only bind mount here (needs root)")
    ctx.cleanups.append(lambda: subprocess.run(["umount", str(ro)], check=True))


def make_device(ctx: Ctx) -> None:
    try:
        os.mknod(ctx.root / "out" / "dev", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot create a device node here")


def deny_access(ctx: Ctx) -> None:
    real = os.access
    ctx.monkeypatch.setattr(os, "access", lambda p, m, **kw: False if "locked" in str(p) else real(p, m, **kw))


TARGETS = [
    report("out is an existing directory", ["--out", "out", "--json", "r.json"], setup=mkdirs("out"),
           fragments=("is a directory", "give a file path")),
    report("out under a regular file", ["--out", "blocker/r.html", "--json", "out/r.json"],
           setup=files(blocker="a file"), fragments=("blocker", "is a file, not a directory", FIX)),
    report("out deeper under a regular file", ["--out", "blocker/a/b/r.html", "--json", "out/r.json"],
           setup=files(blocker="a file"), fragments=("is a file, not a directory",)),
    gate("gate: json under a regular file leaves no markdown", ["--json", "blocker/g.json", "--markdown", "out/g.md",
                                                                "--html", "out/g.html"],
         setup=files(blocker="x"), fragments=("blocker",)),
    report("out is a symlink to an unrelated file", ["--out", "out/r.html", "--json", "out/r.json"],
           setup=both(files(other="keep me"), symlink("out/r.html", "../other")),
           fragments=("symbolic link", "remove the link")),
    report("out is a dangling symlink", ["--out", "out/r.html", "--json", "out/r.json"],
           setup=symlink("out/r.html", "../nowhere/x.html"), fragments=("symbolic link",)),
    report("out is /dev/null (device node)", ["--out", "/dev/null", "--json", "out/r.json"],
           fragments=("/dev/null", "device node", "'-' for standard output")),
    report("out is a device node", ["--out", "out/dev", "--json", "out/r.json"],
           setup=both(mkdirs("out"), make_device), fragments=("device node",)),
    report("out is a named pipe", ["--out", "out/fifo", "--json", "out/r.json"],
           setup=both(mkdirs("out"), lambda ctx: os.mkfifo(ctx.root / "out" / "fifo")), fragments=("pipe",)),
    report("out in a read-only file system (bind mount)", ["--out", "ro/r.html", "--json", "out/r.json"],
           setup=mount_read_only, fragments=("ro", "read-only file system", "writable output directory")),
    report("out in a directory without write permission", ["--out", "locked/r.html", "--json", "out/r.json"],
           setup=both(mkdirs("locked"), deny_access), fragments=("locked", "is not writable", FIX)),
]


def fail_nth(target: str, n: int, exc: BaseException, *, partial: bool = False):
    """Make the n-th call of ``outputs._write_content`` or ``output_commit._replace`` raise ``exc`` (after
    writing half the content if ``partial``)."""
    def setup(ctx: Ctx) -> None:
        module = outmod if hasattr(outmod, target) else output_commit
        real = getattr(module, target)
        calls = {"n": 0}

        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == n:
                if partial:
                    Path(args[0]).write_bytes(b"half of it")
                raise exc
            return real(*args, **kwargs)
        ctx.monkeypatch.setattr(module, target, wrapped)
    return setup


def os_open_fails(err: int):
    def setup(ctx: Ctx) -> None:
        real = os.open

        def fake(path, flags, *args, **kwargs):
            if flags & os.O_CREAT and str(ctx.root / "out") in os.path.abspath(path):
                raise OSError(err, os.strerror(err), str(path))
            return real(path, flags, *args, **kwargs)
        ctx.monkeypatch.setattr(os, "open", fake)
    return setup


def mkdir_fails(ctx: Ctx) -> None:
    real = os.mkdir

    def fake(path, *args, **kwargs):
        if "newdir" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)
    ctx.monkeypatch.setattr(os, "mkdir", fake)


def interrupt_during_first_rename(ctx: Ctx) -> None:
    # Python's own SIGINT handler, whatever an earlier test in this process installed (e.g. a Spark context)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    ctx.cleanups.append(lambda: signal.signal(signal.SIGINT, previous))
    real = output_commit._replace
    calls = {"n": 0}

    def wrapped(src, dst):
        calls["n"] += 1
        if calls["n"] == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real(src, dst)
    ctx.monkeypatch.setattr(output_commit, "_replace", wrapped)


def patch(module: str, obj: str, attr: str, fn) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        import importlib

        target = importlib.import_module(module)
        ctx.monkeypatch.setattr(getattr(target, obj) if obj else target, attr, fn)
    return setup


def boom(*args, **kwargs):
    raise RuntimeError("boom")


ENOSPC = OSError(errno.ENOSPC, "No space left on device")
PREV_R = ("out/r.html", "out/r.json")
PREV_G = ("out/g.json", "out/g.md", "out/g.html")
ATOMICITY = [
    report("disk full during the second write", R_OUT, previous=PREV_R, analysis=True,
           setup=fail_nth("_write_content", 2, ENOSPC, partial=True), fragments=("disk is full", "free space", FIX)),
    report("disk full during the first write", R_OUT, previous=PREV_R, analysis=True,
           setup=fail_nth("_write_content", 1, ENOSPC, partial=True), fragments=("disk is full",)),
    report("disk full, no previous outputs, new directories removed", ["--out", "out/a/b/r.html", "--json",
                                                                       "out/a/r.json"], analysis=True,
           setup=fail_nth("_write_content", 2, ENOSPC), fragments=("disk is full",)),
    report("disk full reported by an error without errno", R_OUT, previous=PREV_R, analysis=True,
           setup=fail_nth("_write_content", 2, OSError("[Errno 28] No space left on device")),
           fragments=("disk is full",)),
    gate("gate: disk full on the second of three writes leaves no g.json", G_OUT, analysis=True,
         setup=fail_nth("_write_content", 2, ENOSPC), fragments=("disk is full",)),
    gate("gate: disk full keeps the previous outputs", G_OUT, previous=PREV_G, analysis=True,
         setup=fail_nth("_write_content", 3, ENOSPC), fragments=("disk is full",)),
    report("permission denied creating the temporary", R_OUT, previous=PREV_R, analysis=True,
           setup=os_open_fails(errno.EACCES), fragments=("permission denied", "writable output directory")),
    report("read-only file system creating the temporary", R_OUT, previous=PREV_R, analysis=True,
           setup=os_open_fails(errno.EROFS), fragments=("read-only", FIX)),
    report("permission denied creating a missing directory", ["--out", "newdir/r.html", "--json", "out/r.json"],
           analysis=True, setup=mkdir_fails, fragments=("newdir", "permission denied")),
    report("second rename fails: the first output is restored", R_OUT, previous=PREV_R, analysis=True,
           setup=fail_nth("_replace", 2, OSError(errno.EIO, "Input/output error")),
           fragments=("out/r.json", "previous outputs are unchanged")),
    report("second rename fails without previous outputs", R_OUT, analysis=True,
           setup=fail_nth("_replace", 2, OSError(errno.EIO, "Input/output error")), fragments=("cannot write",)),
    report("kill between the two renames (KeyboardInterrupt)", R_OUT, previous=PREV_R, analysis=True, code=130,
           setup=fail_nth("_replace", 2, KeyboardInterrupt()), fragments=("interrupted",)),
    report("kill between the two renames, no previous outputs", R_OUT, analysis=True, code=130,
           setup=fail_nth("_replace", 2, KeyboardInterrupt()), fragments=("interrupted",)),
    gate("gate: kill between renames", G_OUT, previous=PREV_G, analysis=True, code=130,
         setup=fail_nth("_replace", 3, KeyboardInterrupt()), fragments=("interrupted",)),
    report("SIGINT during the renames is held until both are done", R_OUT, previous=PREV_R, analysis=True,
           code=130, setup=interrupt_during_first_rename, changes=PREV_R, fragments=("interrupted",)),
    report("failed analysis keeps the previous JSON and HTML", R_OUT, previous=PREV_R, analysis=True, cfg="bad_ab",
           fragments=("pre_nothing",)),
    gate("gate: failed analysis (exit 2) keeps the previous outputs", G_OUT, previous=PREV_G, analysis=True,
         cfg="bad_screen", fragments=("no timezone",)),
    report("internal error while rendering: exit 1, nothing written", R_OUT, previous=PREV_R, analysis=True,
           code=1, setup=patch("recsys_causal.report.render", "", "render_html", boom), fragments=("internal error",)),
    gate("gate: internal error is exit 4, never 1 (fail)", G_OUT, previous=PREV_G, analysis=True, code=4,
         setup=patch("recsys_causal.gate.screen", "GateResult", "to_html", boom), fragments=("internal error",)),
]


def mode_is(rel: str, mode: int) -> Callable[[Ctx, str, str], None]:
    def check(ctx: Ctx, out: str, err: str) -> None:
        assert stat.S_IMODE(os.stat(ctx.root / rel).st_mode) == mode, oct(os.stat(ctx.root / rel).st_mode)
    return check


def umask(value: int) -> Callable[[Ctx], None]:
    return lambda ctx: os.umask(value)


def stdout_is_json(ctx: Ctx, out: str, err: str) -> None:
    assert json.loads(out)["schema_version"] == 1
    assert "wrote" not in out


def stdout_is_html(ctx: Ctx, out: str, err: str) -> None:
    assert out.lstrip().lower().startswith("<!doctype html") and "wrote" in err


def stdout_is_markdown_once(ctx: Ctx, out: str, err: str) -> None:
    first = out.strip().splitlines()[0]
    assert first.startswith("#") and out.count(first) == 1


def strays(ctx: Ctx) -> None:
    out = ctx.root / "out"
    out.mkdir()
    old = [".r.json.abcd1234.tmp", ".r.html.a_b_c_d_.bak"]
    keep = [".r.json.zzzzzzzz.tmp", ".r.json.notours.tmp", "r.json.tmp", ".r.json.abcd1234.tmpx",
            ".other.json.abcd1234.tmp", ".r.json.ABCD1234.tmp"]
    for name in old + keep:
        (out / name).write_text("stray")
    for name in old + keep[1:]:
        os.utime(out / name, (1_000_000, 1_000_000))  # old, except the young one


SUCCESS = [
    report("success replaces both previous outputs", R_OUT, previous=PREV_R, analysis=True, code=0, changes=PREV_R),
    report("umask 022 gives 0644 files and 0755 directories", ["--out", "out/a/r.html", "--json", "out/r.json"],
           analysis=True, code=0, setup=umask(0o022), changes=("out", "out/a", "out/a/r.html", "out/r.json"),
           check=lambda ctx, o, e: (mode_is("out/r.json", 0o644)(ctx, o, e), mode_is("out/a", 0o755)(ctx, o, e))),
    report("umask 077 gives 0600 files", R_OUT, analysis=True, code=0, setup=umask(0o077),
           changes=("out", *PREV_R), check=mode_is("out/r.html", 0o600)),
    gate("gate: umask 022 gives 0644 on every output", G_OUT, analysis=True, code=GATE_OK, setup=umask(0o022),
         changes=("out", *PREV_G), check=mode_is("out/g.md", 0o644)),
    report("json to stdout with -", ["--out", "out/r.html", "--json", "-"], analysis=True, code=0,
           changes=("out", "out/r.html"), check=stdout_is_json),
    report("html to /dev/stdout", ["--out", "/dev/stdout", "--json", "out/r.json"], analysis=True, code=0,
           changes=("out", "out/r.json"), check=stdout_is_html),
    gate("gate: json to stdout is the only thing on stdout", ["--json", "-", "--markdown", "out/g.md",
                                                              "--html", "out/g.html"],
         analysis=True, code=GATE_OK, changes=("out", "out/g.md", "out/g.html"), check=stdout_is_json),
    gate("gate: markdown to stdout is printed once", ["--json", "out/g.json", "--markdown", "-",
                                                      "--html", "out/g.html"],
         analysis=True, code=GATE_OK, changes=("out", "out/g.json", "out/g.html"), check=stdout_is_markdown_once),
    report("old stray temporaries of this tool are removed, nothing else", R_OUT, analysis=True, code=0,
           setup=strays, changes=(*PREV_R, "out/.r.json.abcd1234.tmp", "out/.r.html.a_b_c_d_.bak")),
    report("missing parent directories are created", ["--out", "out/a/b/r.html", "--json", "out/c/r.json"],
           analysis=True, code=0, changes=("out", "out/a", "out/a/b", "out/c", "out/a/b/r.html", "out/c/r.json")),
    report("different case on a case-sensitive file system is another file",
           ["--out", "decision_logs/SAMPLE_HOLDOUT_UNITS.parquet", "--json", "out/r.json"], analysis=True, code=0,
           setup=skip_if_case_insensitive, changes=("decision_logs/SAMPLE_HOLDOUT_UNITS.parquet", "out",
                                                    "out/r.json")),
    report("a symlinked output directory is written through", ["--out", "lnk/r.html", "--json", "lnk/r.json"],
           analysis=True, code=0, setup=both(mkdirs("real"), symlink("lnk", "real")),
           changes=("real/r.html", "real/r.json")),
]


def read_sample(ctx: Ctx, name: str = "sample_decision_log.parquet"):
    from recsys_causal import read_decision_log

    return read_decision_log(ctx.root / "decision_logs" / name)


def api_write_log_onto_source(ctx: Ctx) -> None:
    from recsys_causal import write_decision_log

    write_decision_log(read_sample(ctx).log, ctx.root / "decision_logs" / "sample_decision_log.parquet")


def api_quarantine_onto_source(ctx: Ctx) -> None:
    read_sample(ctx, "sample_dirty.csv").report.write_quarantine(ctx.root / "decision_logs" / "sample_dirty.csv")


def api_partitioned_into_source(ctx: Ctx) -> None:
    from recsys_causal import read_decision_log, write_partitioned_log

    log = read_decision_log(ctx.root / "decision_logs" / "hive").log
    write_partitioned_log(log, ctx.root / "decision_logs" / "hive" / "again")


def api_write_log(rel: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        from recsys_causal import write_decision_log

        write_decision_log(read_sample(ctx).log, ctx.root / rel)
    return run


def api_partitioned(rel: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        from recsys_causal import write_partitioned_log

        write_partitioned_log(read_sample(ctx).log, ctx.root / rel)
    return run


def api_text(rel: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        from recsys_causal.io_utils import atomic_write_text

        atomic_write_text(ctx.root / rel, "new text")
    return run


def parquet_disk_full(ctx: Ctx) -> None:
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device")
    ctx.monkeypatch.setattr(pd.DataFrame, "to_parquet", full)


def api(name, run, code=2, **kw) -> Case:
    return Case(name, "api", run=run, code=code, **kw)


WRITERS = [
    api("write_decision_log onto the file it was read from", api_write_log_onto_source,
        fragments=("sample_decision_log.parquet", "is the input the log's source", FIX)),
    api("write_quarantine onto the validated source", api_quarantine_onto_source,
        fragments=("sample_dirty.csv", "is the input the validated source")),
    api("write_partitioned_log inside its own Hive source", api_partitioned_into_source,
        fragments=("inside the input directory the log's source",)),
    api("write_partitioned_log onto an existing directory", api_partitioned("decision_logs"),
        fragments=("already exists", "never overwritten")),
    api("write_decision_log onto a directory", api_write_log("out/dir.parquet"), setup=mkdirs("out/dir.parquet"),
        fragments=("is a directory",)),
    api("write_decision_log, disk full", api_write_log("out/log.parquet"), previous=("out/log.parquet",),
        setup=parquet_disk_full, fragments=("disk is full",)),
    api("write_decision_log, missing directory", api_write_log("nope/log.parquet"), fragments=("does not exist",)),
    api("atomic_write_text under a regular file", api_text("blocker/x.txt"), setup=files(blocker="x"),
        fragments=("is a file, not a directory",)),
    api("write_decision_log replaces a previous file with umask permissions", api_write_log("out/log.parquet"),
        code=0, previous=("out/log.parquet",), setup=umask(0o022), changes=("out/log.parquet",),
        check=mode_is("out/log.parquet", 0o644)),
    api("write_partitioned_log directory follows the umask", api_partitioned("out/hive"), code=0,
        setup=both(mkdirs("out"), umask(0o022)), check=mode_is("out/hive", 0o755), changes=("out/hive", "out/hive/**")),
]

CATALOGUE = {
    "output safety: collisions": COLLISIONS,
    "output safety: unsafe targets": TARGETS,
    "output safety: atomicity": ATOMICITY,
    "output safety: successful runs": SUCCESS,
    "output safety: Python writers": WRITERS,
}
PROMISES = {
    "output safety: collisions": "an output that resolves (symlinks, '..', hard links, case) to an input, a file in an "
                                 "input directory, the config or another output is refused with exit 2 before the "
                                 "analysis runs",
    "output safety: unsafe targets": "directories, device nodes, pipes, symbolic links, paths under a regular file and "
                                     "unwritable or read-only directories are refused with exit 2 before the analysis",
    "output safety: atomicity": "disk full, permission errors, failed renames, interrupts and failed analyses leave "
                                "every previous output, input and directory exactly as it was (exit 2, never 1)",
    "output safety: successful runs": "a successful run replaces all of its outputs, with umask permissions, stdout "
                                      "for '-', and removes only this tool's own old temporaries",
    "output safety: Python writers": "the Python writers never overwrite the data they were read from and fail "
                                     "with a typed OutputError that leaves the previous file",
}
CASES = [c for cases in CATALOGUE.values() for c in cases]


# ----------------------------------------------------------------------------- the runner


def _prepare_bad_configs(root: Path) -> None:
    import yaml

    ex = root / "reports" / "examples"
    ab = yaml.safe_load((ex / "ab.yaml").read_text())
    ab["covariates"].append("pre_nothing")
    ab.pop("ope_screen")
    (ex / "bad_ab.yaml").write_text(yaml.safe_dump(ab))
    sc = yaml.safe_load((ex / "screen.yaml").read_text())
    sc["log"]["as_of"] = "2026-06-20"
    (ex / "bad_screen.yaml").write_text(yaml.safe_dump(sc))


def _forbid_analysis(monkeypatch) -> None:
    def ran(*args, **kwargs):
        raise AssertionError("the analysis ran before the outputs were checked")
    monkeypatch.setattr("recsys_causal.report.analysis.run_plan", ran)
    monkeypatch.setattr("recsys_causal.gate.cli.run_config", ran)


def run_case(case: Case, root: Path, monkeypatch, capsys) -> None:
    from recsys_causal.gate import main as gate_main
    from recsys_causal.report import main as report_main

    _prepare_bad_configs(root)
    ctx = Ctx(root, monkeypatch)
    for rel in case.previous:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(PREV)
    try:
        if case.setup:
            case.setup(ctx)
        if not case.analysis:
            _forbid_analysis(monkeypatch)
        before = snapshot(root)
        capsys.readouterr()
        if case.tool == "api":
            try:
                case.run(ctx)
                code, message = 0, ""
            except OutputError as exc:
                code, message = 2, str(exc)
        else:
            tool, _, cfg = case.tool.partition(":")
            argv = [f"reports/examples/{cfg}.yaml", *case.args]
            code = report_main([*argv, "--quiet"]) if tool == "report" else gate_main(argv)
        out, err = capsys.readouterr()
        message = message if case.tool == "api" else err
        after = snapshot(root)
    finally:
        os.umask(0o022)
        for fn in ctx.cleanups:
            fn()
    assert code == case.code, err
    assert "Traceback" not in err
    for fragment in case.fragments:
        assert fragment in message, (fragment, message)
    diff = changed(before, after)
    prefixes = tuple(c[:-2] for c in case.changes if c.endswith("/**"))
    exact = {c for c in case.changes if not c.endswith("/**")}
    assert exact <= diff and all(d in exact or d.startswith(prefixes or ("\0",)) for d in diff), diff
    for rel in exact:
        if after.get(rel, ("",))[0] == "file":
            assert (root / rel).read_bytes() != PREV  # replaced, not kept
    assert not [k for k in after if k.endswith((".tmp", ".bak")) and k not in before]
    if case.check:
        case.check(ctx, out, err)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_output_safety(project, monkeypatch, capsys, case):
    run_case(case, project, monkeypatch, capsys)


def test_catalogue_size():
    assert len(CASES) >= 40 and set(PROMISES) == set(CATALOGUE)
    assert len({c.name for c in CASES}) == len(CASES)


# ----------------------------------------------------------------------------- normalisation, directly


def test_normalise_path_resolves_symlinks_before_dotdot(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    os.symlink(tmp_path / "a" / "b", tmp_path / "link")
    # link/.. is a (the parent of the link's target), not tmp_path as a lexical normalisation would say
    assert normalise_path(tmp_path / "link" / ".." / "x", insensitive=False) == str((tmp_path / "a" / "x").resolve())
    assert normalise_path(tmp_path / "A" / "Ü.TXT", insensitive=True) == str(tmp_path.resolve() / "a" / "ü.txt").casefold()
    assert normalise_path(tmp_path / "A", insensitive=False).endswith("/A")


def test_case_insensitivity_probe_matches_the_file_system(tmp_path):
    (tmp_path / "probe").write_text("x")
    expected = (tmp_path / "PROBE").exists()
    assert case_insensitive(tmp_path / "probe") is expected
    assert same_path(tmp_path / "probe", tmp_path / "PROBE") is expected
    assert same_path(tmp_path / "new", tmp_path / "NEW") is expected


def test_unicode_forms_collide_only_where_case_is_ignored(tmp_path):
    nfc, nfd = "caf\u00e9.html", "cafe\u0301.html"
    assert normalise_path(tmp_path / nfc, insensitive=True) == normalise_path(tmp_path / nfd, insensitive=True)
    assert normalise_path(tmp_path / nfc, insensitive=False) != normalise_path(tmp_path / nfd, insensitive=False)


def test_sigterm_during_the_renames_is_delivered_after_them(tmp_path):
    """A real SIGTERM sent between two renames: the process still dies of it, but only once both outputs are
    replaced and the backups removed (no new file beside an old one)."""
    import sys

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("old")
    script = f"""
import os, signal
from pathlib import Path
from recsys_causal import output_commit
from recsys_causal.outputs import OutputPlan
d = Path({str(tmp_path)!r})
real = output_commit._replace
def first(src, dst):
    output_commit._replace = real
    os.kill(os.getpid(), signal.SIGTERM)
    real(src, dst)
output_commit._replace = first
OutputPlan({{"a": d / "a.txt", "b": d / "b.txt"}}).write({{"a": "new a", "b": "new b"}})
print("not reached")
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == -signal.SIGTERM and "not reached" not in done.stdout, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "b.txt").read_text() == "new b"


def test_output_error_is_an_input_file_error():
    """Callers that caught InputFileError for unwritable outputs keep working."""
    assert issubclass(OutputError, InputFileError)


# ----------------------------------------------------------------------------- properties


TREE_FILES = ["a/x", "a/y", "b/z", "a/c/w"]
COMPONENTS = ["a", "b", "c", "la", "lb", "..", ".", "x", "y", "z", "w", "n1", "n2"]
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def make_tree(root: Path) -> None:
    for rel in TREE_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"input {rel}")
    os.symlink(root / "a", root / "la")
    os.symlink("b", root / "lb")


rel_path = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3).map(lambda parts: "/".join(parts))
input_set = st.lists(st.sampled_from(["a", "b", "a/c", "la", *TREE_FILES, "lb/z", "la/c/w"]), min_size=1,
                     max_size=3, unique=True)


def oracle_refuses(root: Path, inputs: list[str], outs: list[str]) -> bool:
    """Independent rule: refuse when an output's real path is an input's, lies under an input directory, equals
    another output's, or is not a creatable regular file."""
    reals = [os.path.realpath(root / o) for o in outs]
    for o, real in zip(outs, reals, strict=True):
        lexical = root / o
        if os.path.islink(lexical) or os.path.isdir(lexical) or (os.path.lexists(lexical) and
                                                                  not os.path.isfile(lexical)):
            return True
        if o in (".", "..") or o.endswith("/."):
            return True  # names a directory
        parts = o.split("/")
        if any(parts[k] == ".." and not os.path.lexists(root.joinpath(*parts[:k])) for k in range(1, len(parts))):
            return True  # '..' after a directory that does not exist
        if any(os.path.lexists(root.joinpath(*parts[:k])) and not os.path.isdir(root.joinpath(*parts[:k]))
               for k in range(1, len(parts))):
            return True  # a file used as a directory ('file/..' too, as the kernel reads it)
        parent = os.path.dirname(real)
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            return True
        for i in inputs:
            ireal = os.path.realpath(root / i)
            if real == ireal or real.startswith(ireal + os.sep):
                return True
    return len(set(reals)) < len(reals)


FAIL_POINTS = {"write": (outmod, "_write_content"), "backup": (output_commit, "_backup"),
               "rename": (output_commit, "_replace")}


@PROPS
@given(inputs=input_set, outs=st.lists(rel_path, min_size=1, max_size=3),
       fail=st.one_of(st.none(), st.tuples(st.sampled_from(sorted(FAIL_POINTS)), st.integers(1, 4), st.booleans())))
def test_property_refused_or_all_or_none(tmp_path_factory, inputs, outs, fail):
    """For any inputs and outputs in a small tree with symlinks and '..': either the plan is refused (exactly when
    an independent rule says so) and nothing changes, or no input changes and, with a failure (an OS error or an
    interrupt) injected at the k-th write, backup or rename, either every output holds its new content or the
    whole tree is exactly as before."""
    base = tmp_path_factory.mktemp("prop").resolve()
    root = base / "p" / "q" / "root"  # '..' up to three times stays inside base
    root.mkdir(parents=True)
    make_tree(root)
    first = os.path.realpath(root / outs[0])
    if not os.path.lexists(root / outs[0]) and not os.path.lexists(first) and os.path.isdir(os.path.dirname(first)):
        Path(first).write_bytes(PREV)  # a previous output
    before = snapshot(base)
    labels = {f"out{i}": f"{root}/{o}" for i, o in enumerate(outs)}  # as typed (pathlib would drop '/.')
    try:
        plan = OutputPlan(labels, {i: root / i for i in inputs})
    except OutputError:
        assert oracle_refuses(root, inputs, outs)
        assert snapshot(base) == before
        return
    assert not oracle_refuses(root, inputs, outs)
    reals = {k: Path(os.path.realpath(p)) for k, p in labels.items()}
    previous = {k: (p.read_bytes() if p.is_file() else None) for k, p in reals.items()}
    contents = {k: f"new {k}" for k in labels}
    module, attr = FAIL_POINTS[fail[0]] if fail else (output_commit, "_replace")
    real = getattr(module, attr)
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if fail and calls["n"] == fail[1]:
            raise KeyboardInterrupt() if fail[2] else OSError(errno.EIO, "I/O error")
        return real(*args)

    setattr(module, attr, flaky)
    try:
        plan.write(contents)
        ok = True
    except (OutputError, KeyboardInterrupt):
        ok = False
    finally:
        setattr(module, attr, real)
    after = snapshot(base)
    protected = [os.path.realpath(root / i) for i in inputs]
    for k in before:
        real = os.path.realpath(base / k)
        if any(real == p or real.startswith(p + os.sep) for p in protected):
            assert after.get(k) == before[k], k  # no input changes
    now = {k: (p.read_bytes() if p.is_file() else None) for k, p in reals.items()}
    if ok:
        assert all(now[k] == contents[k].encode() for k in labels)
        allowed = {str(r) for r in reals.values()} | {str(a) for r in reals.values() for a in r.parents}
        allowed |= {os.path.realpath(root.joinpath(*o.split("/")[:k])) for o in outs for k in range(1, len(o.split("/")))}
        assert all(str(base / k) in allowed for k in changed(before, after))
    else:
        assert now == previous and after == before  # none changed, nothing left behind
