"""The two routes of a claim: which ``rankcheck.theory`` names its prediction reaches, and which
``rankcheck.numerics`` names its check reaches.

Read from the code, not declared: a function's global names (and those of the lambdas and nested
functions in it), followed through the helpers of its own module. A module alias such as
``solvers`` counts the attributes the code reads on it (``solvers.funk_hecke_eigenvalues``). The
report shows both lists per claim, so a reader sees where prediction and measurement come from,
and ``tests/test_layout.py`` checks that a prediction reaches ``rankcheck.theory``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from rankcheck.proofs_checks.sweep import code_names

__all__ = ["reached", "claim_routes"]


def _own(target: Any, namespace: str) -> bool:
    """A function or class defined under ``namespace`` (not an exception, not an import from
    elsewhere such as ``functools.partial``)."""
    if not (inspect.isfunction(target) or inspect.isclass(target) or callable(target)):
        return False
    if inspect.isclass(target) and issubclass(target, BaseException):
        return False
    return (getattr(target, "__module__", "") or "").startswith(namespace)


def reached(function: Callable[..., Any], namespace: str) -> list[str]:
    """The qualified names under ``namespace`` that ``function`` reaches.

    Parameters
    ----------
    function : callable
    namespace : str
        E.g. ``"rankcheck.theory"``.

    Returns
    -------
    list of str
        Sorted, e.g. ``["rankcheck.theory.dln.rank_limit"]``.
    """
    found: set[str] = set()
    seen: set[int] = set()
    pending = [inspect.unwrap(function)]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        module = getattr(current, "__module__", "") or ""
        if module.startswith(namespace):
            found.add(f"{module}.{current.__qualname__}")
            continue
        code, scope = getattr(current, "__code__", None), getattr(current, "__globals__", {})
        if code is None:
            continue
        names = code_names(code)
        for name in names:
            target = scope.get(name)
            target = inspect.unwrap(target) if callable(target) else target  # through caches
            if inspect.ismodule(target) and target.__name__.startswith(namespace):
                found |= {f"{target.__name__}.{attr}" for attr in names
                          if _own(getattr(target, attr, None), namespace)}
            elif _own(target, namespace):
                found.add(f"{target.__module__}.{getattr(target, '__qualname__', name)}")
            elif inspect.isfunction(target) and target.__module__ == module:
                pending.append(target)  # a helper of the same module: follow it
    return sorted(found)


def claim_routes(predict: Callable[..., Any], check: Callable[..., Any]) -> dict[str, list[str]]:
    """Where a claim's prediction and measurement come from.

    Parameters
    ----------
    predict : callable
        The claim's prediction.
    check : callable
        The claim's check (it calls the solvers).

    Returns
    -------
    dict
        ``prediction``: the ``rankcheck.theory`` names reached by ``predict`` and by the check
        itself (checks evaluate parts of the prediction, e.g. exact integrals); ``measurement``:
        the ``rankcheck.numerics`` names reached by the check.
    """
    theory = set(reached(predict, "rankcheck.theory")) | set(reached(check, "rankcheck.theory"))
    return {"prediction": sorted(theory), "measurement": reached(check, "rankcheck.numerics")}
