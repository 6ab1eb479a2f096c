"""The sections of a report, registered in one place (:mod:`recsys_causal.report.sections.base`).

Every module of this package is imported here, so a section class defined in a new module (decorated with
:func:`register`) joins the report with no other edit; its page fragment is ``templates/sections/<name>.html.j2``.

>>> [s.name for s in sections()]  # doctest: +NORMALIZE_WHITESPACE
['decision', 'data_quality', 'metrics', 'power', 'guardrails', 'timeline', 'novelty', 'longterm', 'surrogate',
 'segments', 'switchback', 'holdout', 'ope', 'methods']
"""

import importlib
import pkgutil

from recsys_causal.report.sections.base import (
    REGISTRY,
    Section,
    SectionResult,
    register,
    sections,
    unregister,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Section", "SectionResult", "register", "sections", "unregister"]
