"""The one registry of claims: ``@claim`` registers a check under a stable dotted id."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from proofs_checks.context import PROFILES, Context
from proofs_checks.verdict import Comparison

#: The claims modules, one per family. Registering a family is adding its module here.
FAMILIES: tuple[str, ...] = (
    "proofs_checks.dln", "proofs_checks.linear_dynamics", "proofs_checks.not_norms", "proofs_checks.spectra",
    "proofs_checks.walks", "proofs_checks.tensor", "proofs_checks.compositionality",
    "proofs_checks.covariance_cone", "proofs_checks.bottleneck", "proofs_checks.cbn",
    "proofs_checks.geodesics",
)

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
CheckResult = Comparison | list[Comparison]
Check = Callable[[Context, Callable[..., Any]], CheckResult]


class UnknownClaimError(ValueError):
    """An id or prefix that names no registered claim."""


@dataclass(frozen=True)
class Claim:
    """A registered claim: its id, statement, source, check and the two predictions it is run with.

    ``check(ctx, predict)`` returns one or several comparisons of ``predict`` with measurements.
    The runner calls it with ``predict`` for the verdict and with ``broken`` (the planted error) for
    the negative control, which must come out ``fail``.
    """

    id: str
    statement: str
    source: str
    check: Check
    predict: Callable[..., Any]
    broken: Callable[..., Any]
    broken_how: str
    profiles: tuple[str, ...] = PROFILES

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, Claim] = {}


def claim(
    claim_id: str,
    *,
    statement: str,
    source: str,
    predict: Callable[..., Any],
    broken: Callable[..., Any],
    broken_how: str,
    profiles: Sequence[str] = PROFILES,
) -> Callable[[Check], Check]:
    """Register the decorated check under ``claim_id`` (lower-case dotted, e.g. ``dln.rank_limit``)."""
    if not ID_PATTERN.match(claim_id):
        raise ValueError(f"claim_id must be lower-case and dotted like 'family.name', got {claim_id!r}")
    unknown = set(profiles) - set(PROFILES)
    if unknown or not profiles:
        raise ValueError(f"profiles must be a non-empty subset of {PROFILES}, got {profiles!r}")

    def register(check: Check) -> Check:
        if claim_id in REGISTRY:
            raise ValueError(f"claim {claim_id!r} is registered twice")
        REGISTRY[claim_id] = Claim(
            claim_id, statement, source, check, predict, broken, broken_how, tuple(profiles)
        )
        return check

    return register


def load_families() -> None:
    """Import every family's claims module (registration happens at import)."""
    for module in FAMILIES:
        importlib.import_module(module)


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id."""
    load_families()
    return [REGISTRY[key] for key in sorted(REGISTRY)]


def select(patterns: Sequence[str] | None) -> list[Claim]:
    """Claims matching ids or prefixes (``dln`` or ``dln.`` selects the family); None: all.

    Raises UnknownClaimError naming the pattern and the known ids when a pattern matches nothing.
    """
    claims = all_claims()
    if not patterns:
        return claims
    chosen: dict[str, Claim] = {}
    for pattern in patterns:
        prefix = pattern.rstrip(".")
        matches = [c for c in claims if c.id == prefix or c.id.startswith(prefix + ".")]
        if not matches:
            known = ", ".join(c.id for c in claims)
            raise UnknownClaimError(f"no claim matches {pattern!r}; known claims: {known}")
        chosen.update((c.id, c) for c in matches)
    return [chosen[key] for key in sorted(chosen)]
