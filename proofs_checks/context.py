"""The context a check runs in: profile, seeds, case drawing, comparisons, figures, progress."""

from __future__ import annotations

import importlib
import json
import random
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from rankcheck.errors import NotConvergedError
from rankcheck.proofs_checks.sweep import ExecutorConfig, Sweep, SweepResult, run_sweep
from rankcheck.proofs_checks.verdict import Comparison, compare

__all__ = ["PROFILES", "Inconclusive", "derive_seed", "seed_everything", "draw", "Context"]

T = TypeVar("T")
PROFILES = ("quick", "full")


class Inconclusive(Exception):
    """Raised by a check that cannot decide (budget exhausted, regime not reached)."""


def _is_not_converged(error_type: str | None) -> bool:
    """Whether a sweep case's exception type (its qualified name) is a ``NotConvergedError``.

    The type is resolved by importing its module, so subclasses count too; a type that cannot be
    resolved (None, a module that is gone) is not one.
    """
    module, _, name = (error_type or "").rpartition(".")
    try:
        kind = getattr(importlib.import_module(module), name) if module else None
    except (ImportError, AttributeError):
        return False
    return isinstance(kind, type) and issubclass(kind, NotConvergedError)


def derive_seed(seed: int, *labels: str) -> int:
    """A stable 32-bit seed for (seed, labels): the same on every machine and Python run (CRC-32).

    Parameters
    ----------
    seed : int
    *labels : str

    Returns
    -------
    int
        In [0, 2³¹).
    """
    text = "/".join([str(seed), *labels])
    return zlib.crc32(text.encode()) & 0x7FFF_FFFF


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's legacy global generator and torch.

    Parameters
    ----------
    seed : int
    """
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _Enough(Exception):
    """Stops the generation once enough distinct examples are collected."""


def draw(strategy: st.SearchStrategy[T], n: int, seed: int) -> list[T]:
    """Draw ``n`` distinct examples from a Hypothesis strategy, deterministically for a seed.

    Runs a ``@given`` function in the generate phase only (no database, no shrinking) and collects
    what it is given, skipping repeats (Hypothesis does repeat examples; a grid of runs must not): the
    first examples are Hypothesis' simplest ones, the rest random.

    Parameters
    ----------
    strategy : hypothesis SearchStrategy
    n : int
    seed : int

    Returns
    -------
    list
        ``n`` examples; fewer only when the strategy has fewer distinct values than 10·n draws
        reach; none for n = 0.
    """
    if n == 0:
        return []
    examples: list[T] = []
    seen: set[str] = set()

    @hypothesis_seed(seed)
    @settings(
        max_examples=10 * n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(strategy)
    def collect(example: T) -> None:
        key = repr(example)
        if key not in seen:
            seen.add(key)
            examples.append(example)
        if len(examples) >= n:
            raise _Enough

    try:
        collect()
    except _Enough:
        pass
    return examples


@dataclass
class Context:
    """Everything a check needs besides its prediction.

    Attributes
    ----------
    claim_id : str
        The claim being checked.
    profile : {"quick", "full"}
        ``quick`` (seconds, CI) or ``full`` (paper scale).
    seed : int
        The run's seed; every drawn case derives from (seed, seed_key, label).
    out_dir : Path or None
        Where figures and the sweeps database go (None: figures are not saved).
    control : bool
        True while the check runs against the broken prediction.
    memo : dict
        Shared by the verdict run and the control run of the same claim, so that costly
        measurements (solvers, trainings) are made once (see ``cached``).
    show_progress : bool
        Show progress bars on stderr.
    executor : ExecutorConfig
        How ``sweep`` runs its cases (serial, a process pool, Dask).
    figures : list of str
        The figures saved so far, relative to ``out_dir``.
    captions : dict of str to str
        What each saved figure judges (``savefig``'s ``judged``), by its entry in ``figures``.
    seed_key : str
        The label the seeds derive from (the claim's ``seed_key``; default ``claim_id``).
    """

    claim_id: str
    profile: str = "quick"
    seed: int = 0
    out_dir: Path | None = None
    control: bool = False
    memo: dict[str, Any] = field(default_factory=dict)
    show_progress: bool = False
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    figures: list[str] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    seed_key: str = ""

    def __post_init__(self) -> None:
        self.seed_key = self.seed_key or self.claim_id
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")

    def pick(self, *, quick: T, full: T) -> T:
        """The value for the current profile.

        Parameters
        ----------
        quick, full
            The two values.

        Returns
        -------
        ``quick`` on the quick profile, else ``full``.
        """
        return quick if self.profile == "quick" else full

    def draw(self, strategy: st.SearchStrategy[T], n: int, label: str = "cases") -> list[T]:
        """``n`` cases from ``strategy``, seeded by (seed, seed_key, label).

        Parameters
        ----------
        strategy : hypothesis SearchStrategy
        n : int
        label : str, default "cases"

        Returns
        -------
        list
        """
        return draw(strategy, n, derive_seed(self.seed, self.seed_key, label))

    def seeds(self, n: int, label: str = "seeds") -> list[int]:
        """``n`` seeds for sweep cases, derived from (seed, seed_key, label): ``--seed`` changes them.

        Parameters
        ----------
        n : int
        label : str, default "seeds"

        Returns
        -------
        list of int
        """
        return [derive_seed(self.seed, self.seed_key, label, str(k)) for k in range(n)]

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per claim run (shared with the control run), then reuse.

        Parameters
        ----------
        key : str
        compute : callable () -> T

        Returns
        -------
        T
        """
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def sweep(self, name: str, function: Any, cases: list[dict[str, Any]]) -> SweepResult:
        """Run ``function`` over ``cases`` through the sweep mechanism, once per claim run and case list.

        The control run reuses the verdict run's rows only when it asks for the same cases. Results go to
        ``<out_dir>/sweeps.sqlite`` (a temporary file without ``out_dir``), so an interrupted run resumes
        where it stopped; the executor is the context's.

        Parameters
        ----------
        name : str
            The sweep's name within the claim (stored as ``<claim_id>.<name>``).
        function : callable dict -> dict
            A module-level case function.
        cases : list of dict

        Returns
        -------
        SweepResult

        Raises
        ------
        Inconclusive
            When cases failed and every failure is a ``NotConvergedError`` (decided by the stored
            exception type, subclasses included).
        RuntimeError
            When any other exception failed a case; the message holds its traceback.
        """

        def execute() -> SweepResult:
            sweep = Sweep(f"{self.claim_id}.{name}", function, cases)
            if self.out_dir is not None:
                return run_sweep(sweep, self.out_dir / "sweeps.sqlite", self.executor,
                                 self.show_progress)
            with tempfile.TemporaryDirectory() as folder:
                return run_sweep(sweep, Path(folder) / "sweeps.sqlite", self.executor,
                                 self.show_progress)

        result = self.cached(f"sweep:{name}:{json.dumps(cases, sort_keys=True, default=str)}", execute)
        if result.errors:
            last_lines = [e["error"].rstrip().splitlines()[-1] for e in result.errors]
            message = f"{len(result.errors)} of {len(cases)} cases of sweep {name!r} failed: " + (
                f"{last_lines[0]} (case {result.errors[0]['params']})")
            if all(_is_not_converged(e.get("error_type")) for e in result.errors):
                raise Inconclusive(message)
            raise RuntimeError(message + "\n" + result.errors[0]["error"])
        return result

    def compare(
        self,
        name: str,
        predicted: list[Any],
        measured: list[Any],
        *,
        rtol: float,
        atol: float | list[float] = 0.0,
        why: str,
        cases: list[Any] | None = None,
        note: str = "",
    ) -> Comparison:
        """A comparison of predictions with measurements: see ``rankcheck.proofs_checks.verdict.compare``.

        Parameters
        ----------
        name : str
        predicted, measured : list
        rtol : float
        atol : float or list of float, default 0
        why : str
        cases : list, optional
        note : str, default ""

        Returns
        -------
        Comparison
        """
        return compare(name, predicted, measured, rtol=rtol, atol=atol, why=why, cases=cases,
                       note=note)

    def inconclusive(self, reason: str) -> NoReturn:
        """Give up honestly: the verdict becomes ``inconclusive`` with ``reason``.

        Parameters
        ----------
        reason : str

        Raises
        ------
        Inconclusive
            Always.
        """
        raise Inconclusive(reason)

    def savefig(self, figure: Any, name: str, *, judged: str) -> None:
        """Save a figure as ``<out_dir>/figures/<claim_id>.<name>.png`` (verdict run only).

        ``judged`` says what on the figure the verdict judges (the quantity and its tolerance, or
        the fitted slope and its band, and what is only shown); it is written under the figure and
        kept as its caption in the reports.

        Parameters
        ----------
        figure : matplotlib.figure.Figure
            Made with ``rankcheck.proofs_checks.figures.subplots`` (no pyplot).
        name : str
        judged : str
            One or two sentences.

        Raises
        ------
        ValueError
            When ``judged`` is empty.
        """
        if not judged.strip():
            raise ValueError("judged must say what the figure shows that is judged")
        if self.out_dir is not None and not self.control:
            folder = self.out_dir / "figures"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.claim_id}.{name}.png"
            figure.text(0.5, 0.0, "Judged: " + judged, ha="center", va="top", fontsize=7.5,
                        wrap=True, color="#333333")
            figure.savefig(path, dpi=110, bbox_inches="tight")
            relative = str(path.relative_to(self.out_dir))
            self.figures.append(relative)
            self.captions[relative] = judged
