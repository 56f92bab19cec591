"""Old names kept working for a while, with a ``DeprecationWarning`` that says the new one.

Keyword arguments renamed for clarity (``ci`` -> ``ci_level``: the interval level, not carbon
intensity; ``model`` -> ``posterior``: the posterior file or object, not the AI model) go
through :func:`renamed_kwargs`; renamed attributes through :func:`deprecated_attribute`.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Accept deprecated keyword names: ``@renamed_kwargs(ci="ci_level", model="posterior")``.

    A call with an old name warns (``DeprecationWarning``, pointing at the caller) and passes the
    value on under the new name, so old and new spellings give identical results. Giving both
    the old and the new name is a ``TypeError`` naming both.

    Parameters
    ----------
    **renames
        ``old_name="new_name"`` pairs; every new name must be a parameter of the function and
        no old name may be one.

    Returns
    -------
    Callable
        A decorator keeping the function's name, docstring and signature.
    """

    def decorate(fn: F) -> F:
        params = inspect.signature(fn).parameters
        for old, new in renames.items():
            if new not in params:
                raise TypeError(f"renamed_kwargs: {fn.__qualname__}() has no parameter {new!r} (renamed from {old!r})")
            if old in params:
                raise TypeError(f"renamed_kwargs: {fn.__qualname__}() still has a parameter {old!r}")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__qualname__}() got both {old}= (deprecated) and {new}=; pass only {new}=")
                warnings.warn(f"{fn.__qualname__}() keyword {old!r} is deprecated, use {new!r} (same meaning)",
                              DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__deprecated_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_attribute(old: str, new: str) -> property:
    """Return a read-only property ``old`` that warns and returns the attribute ``new``.

    Parameters
    ----------
    old
        The deprecated attribute name (for the message).
    new
        The attribute to read instead.

    Returns
    -------
    property
    """

    def get(self: object) -> Any:
        warnings.warn(f"{type(self).__name__}.{old} is deprecated, use .{new} (same value)", DeprecationWarning,
                      stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of :attr:`{new}`.")


def deprecated_module_attribute(module: str, old: str, new: str, value: object) -> object:
    """Warn that ``module.old`` is deprecated in favour of ``module.new`` and return ``value``.

    For a module's ``__getattr__``: ``if name == "CI_KIND": return deprecated_module_attribute(...)``.
    """
    warnings.warn(f"{module}.{old} is deprecated, use {module}.{new} (same value)", DeprecationWarning, stacklevel=3)
    return value
