"""Old argument names kept working for one release, with a :class:`DeprecationWarning` naming the new one.

The package uses one name per concept (see ``ARCHITECTURE.md``): ``data`` for the table or log an analysis
reads, ``cluster_col`` for the column of independent clusters, ``multiplicity`` for the correction across a
family of tests, ``value`` for a point estimate. Functions that used other names accept them through
:func:`renamed_arguments` until the next minor release.

>>> import warnings
>>> @renamed_arguments(units_df="data")
... def analyze(data=None):
...     return data
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     analyze(units_df=3), caught[0].category.__name__
(3, 'DeprecationWarning')
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_arguments(**old_to_new: str) -> Callable[[F], F]:
    """Decorator: keyword ``old`` is accepted as ``new`` with a deprecation warning; passing both is an error."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    from recsys_causal.errors import ConfigError

                    raise ConfigError(f"{fn.__name__}() got both {old!r} and {new!r}",
                                      fix=f"pass only {new!r} ({old!r} is its deprecated name)")
                warnings.warn(f"{fn.__name__}(): argument {old!r} is deprecated and will be removed in the next "
                              f"minor release; use {new!r}", DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        call.__deprecated_arguments__ = dict(old_to_new)  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap
