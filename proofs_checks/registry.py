"""The one registry of claims: ``@claim`` registers a check under a stable dotted id.

A claim id is ``<family>.<name>``; the family key names the claim's files on every route:
``theory/<family>.py``, ``numerics/<family>.py`` (or the sub-package ``numerics/<family>/``),
``proofs_checks/<family>.py``, ``tests/test_<family>*.py`` and ``notes/<family>.md``
(``Claim.files``; ``rankcheck show ID`` prints them).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankcheck.proofs_checks.context import PROFILES, Context
from rankcheck.proofs_checks.verdict import Comparison

__all__ = [
    "FAMILIES", "ROOT", "ID_PATTERN", "CheckResult", "Check", "UnknownClaimError", "Claim", "REGISTRY",
    "claim", "load_families", "all_claims", "select"
]

#: The family keys. Registering a family is adding its key here: its claims module is
#: ``rankcheck.proofs_checks.<key>``, and every claim id it registers starts with ``<key>.``.
FAMILIES: tuple[str, ...] = (
    "bottleneck", "cbn", "compositionality", "cone", "dln", "gnn", "leaky", "linear_dynamics",
    "not_norms", "spectra", "tensor",
)
#: The checkout's top folder (where tests/ and notes/ live; absent from an installed wheel).
ROOT = Path(__file__).resolve().parents[1]

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
CheckResult = Comparison | list[Comparison]
Check = Callable[[Context, Callable[..., Any]], CheckResult]


class UnknownClaimError(ValueError):
    """An id or prefix that names no registered claim."""


@dataclass(frozen=True)
class Claim:
    """A registered claim: its id, statement, source, check and the two predictions it is run with.

    ``check(ctx, predict)`` returns one or several comparisons of ``predict`` with measurements. The
    runner calls it with ``predict`` for the verdict and with ``broken`` (the planted error) for the
    negative control, which must come out ``fail``.

    Attributes
    ----------
    id : str
        ``<family>.<name>``, stable.
    statement : str
        The claim as its source states it.
    source : str
        The paper (arXiv id, section, theorem or figure).
    check : callable (Context, predict) -> Comparison or list of Comparison
    predict : callable
        The theorem's prediction (from ``rankcheck.theory``).
    broken : callable
        A deliberately wrong prediction (the negative control).
    broken_how : str
        What is wrong in it.
    profiles : tuple of str
        The profiles the claim supports.
    seed_label : str
        What its seeds derive from when not the id (a renamed claim's old id).
    """

    id: str
    statement: str
    source: str
    check: Check
    predict: Callable[..., Any]
    broken: Callable[..., Any]
    broken_how: str
    profiles: tuple[str, ...] = PROFILES
    seed_label: str = ""

    @property
    def seed_key(self) -> str:
        """The label every seed of the claim derives from: ``seed_label`` when set, else the id.

        A claim renamed after its designs were fixed keeps its old id here, so that its drawn
        cases and sweep seeds — and every recorded or pre-registered run — stay what they were.
        """
        return self.seed_label or self.id

    @property
    def family(self) -> str:
        """The family key: the id's first part, which names the claim's modules, tests and note."""
        return self.id.split(".", 1)[0]

    def files(self) -> dict[str, list[str]]:
        """The claim's files by role: paths relative to the checkout, or absolute in an installation.

        Returns
        -------
        dict of str to list of str
            ``derivation`` (the theory module), ``solver`` (the numerics module or sub-package),
            ``check`` (the check's source file and line), ``tests`` and ``note`` (in the checkout;
            empty lists when rankcheck runs from an installed wheel, which ships neither).
        """
        def shown(path: Path) -> str:
            in_checkout = (ROOT / "notes").is_dir() and path.is_relative_to(ROOT)
            return str(path.relative_to(ROOT)) if in_checkout else str(path)

        def module_path(package: str) -> list[str]:
            spec = importlib.util.find_spec(f"rankcheck.{package}.{self.family}")
            if spec is None or spec.origin is None:
                return []
            origin = Path(spec.origin)
            return [shown(origin.parent if origin.name == "__init__.py" else origin)]

        check = inspect.unwrap(self.check)
        line = inspect.getsourcelines(check)[1]
        return {
            "derivation": module_path("theory"),
            "solver": module_path("numerics"),
            "check": [f"{shown(Path(inspect.getsourcefile(check)))}:{line}"],
            "tests": sorted(str(p.relative_to(ROOT))
                            for p in (ROOT / "tests").glob(f"test_{self.family}*.py")),
            "note": [f"notes/{self.family}.md"] if (ROOT / "notes" / f"{self.family}.md").exists() else [],
        }


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
    seed_label: str = "",
) -> Callable[[Check], Check]:
    """Register the decorated check under ``claim_id`` (lower-case dotted, e.g. ``dln.rank_limit``).

    Parameters
    ----------
    claim_id : str
        ``<family>.<name>``; the family key names the claim's modules, tests and note.
    statement : str
    source : str
    predict : callable
        The theorem's prediction, from ``rankcheck.theory``.
    broken : callable
        The planted error of the negative control.
    broken_how : str
    profiles : sequence of str, default ("quick", "full")
    seed_label : str, default ""
        What the claim's seeds derive from (default: the id); a renamed claim passes its old id, so
        that renaming changes no drawn case.

    Returns
    -------
    callable
        The decorator; it returns the check unchanged.

    Raises
    ------
    ValueError
        A malformed id, unknown profiles, or an id registered twice.
    """
    if not ID_PATTERN.match(claim_id):
        raise ValueError(f"claim_id must be lower-case and dotted like 'family.name', got {claim_id!r}")
    unknown = set(profiles) - set(PROFILES)
    if unknown or not profiles:
        raise ValueError(f"profiles must be a non-empty subset of {PROFILES}, got {profiles!r}")

    def register(check: Check) -> Check:
        if claim_id in REGISTRY:
            raise ValueError(f"claim {claim_id!r} is registered twice")
        REGISTRY[claim_id] = Claim(
            claim_id, statement, source, check, predict, broken, broken_how, tuple(profiles),
            seed_label,
        )
        return check

    return register


def load_families() -> None:
    """Import every family's claims module (registration happens at import)."""
    for family in FAMILIES:
        importlib.import_module(f"rankcheck.proofs_checks.{family}")


def all_claims() -> list[Claim]:
    """Every registered claim, sorted by id (the families' modules are imported first).

    Returns
    -------
    list of Claim
    """
    load_families()
    return [REGISTRY[key] for key in sorted(REGISTRY)]


def select(patterns: Sequence[str] | None) -> list[Claim]:
    """Claims matching ids or prefixes (``dln`` or ``dln.`` selects the family).

    Parameters
    ----------
    patterns : sequence of str or None
        None or empty: all claims.

    Returns
    -------
    list of Claim
        Sorted by id.

    Raises
    ------
    UnknownClaimError
        Naming the pattern and the known ids when a pattern matches nothing.
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
