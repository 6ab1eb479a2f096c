"""How both command-line tools turn what goes wrong into an exit code and one line on stderr.

A user error (any :class:`~recsys_causal.errors.RecsysCausalError`, or a warning made an error with ``-W error::...``
or ``PYTHONWARNINGS``, such as a :class:`~recsys_causal.caveats.StatisticalWarning`) is exit 2 with its message, an
interrupt is exit 130, anything else is the tool's internal-error code with the exception named; ``--debug`` re-raises instead,
so the traceback shows.

>>> from recsys_causal.errors import ConfigError
>>> def bad():
...     raise ConfigError("alpha must be in (0, 0.5]")
>>> code, _ = guarded_run("tool", bad, debug=False, exit_internal=4)
>>> code
2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

from recsys_causal.errors import RecsysCausalError

EXIT_USER, EXIT_INTERRUPTED = 2, 130
T = TypeVar("T")


def guarded_run(prog: str, action: Callable[[], T], *, debug: bool, exit_internal: int,
                interrupted: str = "interrupted") -> tuple[int | None, T | None]:
    """``(None, action())``, or ``(exit code, None)`` after printing ``prog: ...`` to stderr."""
    try:
        return None, action()
    except RecsysCausalError as exc:
        if debug:
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USER, None
    except Warning as exc:  # a warning turned into an error by the interpreter's warning filters
        if debug:
            raise
        print(f"{prog}: error: {type(exc).__name__}: {exc} (a warning made an error by -W or PYTHONWARNINGS)",
              file=sys.stderr)
        return EXIT_USER, None
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED, None
    except Exception as exc:  # noqa: BLE001 - reported with the tool's internal-error code; --debug re-raises
        if debug:
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return exit_internal, None


def add_common_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options both command-line tools share: ``--quiet`` / ``--verbose`` (what goes to stderr, see
    :mod:`recsys_causal.cli_logging`), ``--debug`` (full traceback on an error) and ``--version``."""
    from recsys_causal.cli_logging import add_verbosity_options
    from recsys_causal.version import version_line

    add_verbosity_options(parser)
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line")
    parser.add_argument("--version", action="version", version=version_line(),
                        help="print 'recsys-causal <version>' and exit 0")
    return parser
