"""Typed errors. Every error the toolkit raises for bad input is a :class:`RecsysCausalError`.

Messages name the file, the column, how many rows, a few example ids, and what to do.

>>> from recsys_causal.errors import SchemaError
>>> str(SchemaError("missing column 'request_id'", source="log.parquet", fix="add the column"))
"log.parquet: missing column 'request_id'. Fix: add the column"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class RecsysCausalError(Exception):
    """Base class of every user-facing error; the CLIs turn it into exit code 2 without a traceback."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        count: int | None = None,
        examples: Sequence[object] | None = None,
        fix: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.column = column
        self.count = count
        self.examples = list(examples) if examples is not None else []
        self.fix = fix
        self.code = code
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.source}: {self.message}" if self.source else self.message
        if self.examples:
            text += f" (e.g. {format_examples(self.examples)})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class SchemaError(RecsysCausalError):
    """A required column is missing or has a type that cannot be used."""


class DataValidationError(RecsysCausalError):
    """The data cannot be analysed as asked (e.g. nothing usable is left after validation)."""


class InputFileError(RecsysCausalError):
    """A path is missing, is a directory, is empty, or cannot be parsed in its declared format."""


class OutputError(InputFileError):
    """An output cannot be written safely: it would overwrite an input or another output, or its directory is
    missing, unwritable, read-only or full. Nothing was written; previous outputs are unchanged."""


class ConfigError(RecsysCausalError):
    """A configuration (YAML or arguments) is invalid."""


class EstimationError(RecsysCausalError):
    """An estimator cannot produce an answer from the data it was given."""


def format_examples(values: Iterable[object], limit: int = 5) -> str:
    """Render up to ``limit`` example ids for a message.

    >>> format_examples(["a", "b", "c"], limit=2)
    "'a', 'b', ..."
    """
    values = list(values)
    shown = ", ".join(repr(_plain(v)) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _plain(value: object) -> object:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
