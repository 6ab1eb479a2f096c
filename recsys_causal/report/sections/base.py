"""A report section: an object that says whether it applies to a plan, runs its part of the analysis and hands
back a :class:`SectionResult`; its page fragment is ``templates/sections/<name>.html.j2``.

Sections are registered in one place (:func:`register`) and run and shown in their ``order``; section numbers on
the page follow the sections shown. Adding a section is one class and one template fragment:

>>> @register
... class Note(Section):
...     name, title, order = "note", "A note", 95
...     def run(self, ctx):
...         return SectionResult(data={"text": "hello"}, methods=["Note: says hello."])
>>> [s.name for s in sections()][-2:]
['note', 'methods']
>>> unregister("note")
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from recsys_causal.report.config import ReportConfig
    from recsys_causal.report.context import ReportContext
    from recsys_causal.report.decision import Finding

T = TypeVar("T")


@dataclass
class SectionResult(Generic[T]):
    """What one section found.

    ``result`` is the typed analysis result behind it (an ``ABReadout``, a holdout or switchback result, ...);
    ``data`` the section's part of the report JSON (:meth:`to_json`); ``figures`` SVG strings by name for the
    page; ``methods`` lines for the methods section; ``warnings`` shown on the page; ``quality`` entries for the
    data-quality section; ``findings`` what the decision weighs.
    """

    result: T | None = None
    data: Any = None
    figures: dict[str, str] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> Any:
        """The section's part of the report JSON (JSON-ready: numbers, strings, lists, dicts, None)."""
        return self.data


class Section:
    """One section of the report. Subclasses set ``name`` (its JSON key; the fragment is
    ``sections/<name>.html.j2``), ``title`` (the page heading), ``order`` (its place on the page) and implement
    :meth:`run`.

    The section applies to plans of the ``designs`` listed that set the config key ``requires`` (when given);
    otherwise its JSON key holds ``empty_json``. ``summary`` sections run after all others and read their results
    (``ctx.results``); ``always_shown`` sections are on every page, the others when their JSON part is not empty.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[float]
    designs: ClassVar[tuple[str, ...]] = ("ab", "holdout", "switchback")
    requires: ClassVar[str | None] = None
    empty_json: ClassVar[Any] = None
    summary: ClassVar[bool] = False
    always_shown: ClassVar[bool] = False
    template_dir: ClassVar[Path | None] = None  # None: the package's templates/ folder

    def applies(self, cfg: ReportConfig) -> bool:
        """Whether the plan has this section."""
        return cfg.experiment.design in self.designs and (self.requires is None or bool(getattr(cfg, self.requires)))

    def run(self, ctx: ReportContext) -> SectionResult:
        raise NotImplementedError

    def empty(self) -> Any:
        """The JSON value of the section when it does not apply (a fresh copy of ``empty_json``)."""
        return copy.deepcopy(self.empty_json)

    def shown(self, report: dict) -> bool:
        """Whether the page shows the section, from the report data."""
        return self.always_shown or bool(report.get(self.name))

    def heading(self, report: dict) -> str:
        """The page heading after the generated section number."""
        return self.title

    @property
    def anchor(self) -> str:
        return self.name.replace("_", "-")

    @property
    def template(self) -> str:
        return f"sections/{self.name}.html.j2"


REGISTRY: dict[str, Section] = {}


def register(cls: type[Section]) -> type[Section]:
    """Add a section class to the report (a class decorator); its ``name`` must be new."""
    if cls.name in REGISTRY:
        raise ValueError(f"a report section named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Remove a section (for tests and plug-ins that add one for a while)."""
    REGISTRY.pop(name)


def sections() -> list[Section]:
    """Every registered section in page order."""
    return sorted(REGISTRY.values(), key=lambda s: s.order)
