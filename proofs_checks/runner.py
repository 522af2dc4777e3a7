"""Run claims: the verdict run, the negative control, timing, seeding and reports."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankcheck.errors import NotConvergedError
from rankcheck.proofs_checks.context import Context, Inconclusive, derive_seed, seed_everything
from rankcheck.proofs_checks.registry import Claim, select
from rankcheck.proofs_checks.report import write_reports
from rankcheck.proofs_checks.routes import claim_routes
from rankcheck.proofs_checks.sweep import ExecutorConfig, InfrastructureError
from rankcheck.proofs_checks.verdict import Comparison, Status, Verdict


@dataclass(frozen=True)
class Outcome:
    """What one call of a check produced.

    Attributes
    ----------
    status : {"pass", "fail", "inconclusive", "error"}
    comparisons : list of Comparison
    reason : str
        Why, when not a pass.
    traceback : str
        The traceback of a check that crashed.
    """

    status: Status
    comparisons: list[Comparison]
    reason: str = ""
    traceback: str = ""


def evaluate(claim: Claim, predict: Callable[..., Any], ctx: Context) -> Outcome:
    """Call ``claim.check(ctx, predict)`` and judge it.

    A solver that did not converge (``NotConvergedError``) or a check that gave up (``Inconclusive``)
    gives ``inconclusive``; a fault of the machinery (``InfrastructureError``: executor, worker,
    scheduler, store) gives ``error``; any other exception is a ``fail`` carrying its traceback.

    Parameters
    ----------
    claim : Claim
    predict : callable
        The claim's prediction or its broken one.
    ctx : Context

    Returns
    -------
    Outcome
    """
    seed_everything(derive_seed(ctx.seed, claim.seed_key, "control" if ctx.control else "verdict"))
    try:
        result = claim.check(ctx, predict)
    except (Inconclusive, NotConvergedError) as err:
        return Outcome("inconclusive", [], reason=str(err))
    except InfrastructureError as err:
        return Outcome("error", [], reason=f"infrastructure: {err}", traceback=traceback.format_exc())
    except Exception as err:  # noqa: BLE001 - a crashing check is a failing check
        return Outcome("fail", [], reason=f"{type(err).__name__}: {err}",
                       traceback=traceback.format_exc())
    comparisons = [result] if isinstance(result, Comparison) else list(result)
    if not comparisons:
        return Outcome("fail", [], reason="the check returned no comparison")
    failed = [c.name for c in comparisons if not c.passed]
    if failed:
        return Outcome("fail", comparisons, reason="out of tolerance: " + ", ".join(failed))
    return Outcome("pass", comparisons)


def run_claim(
    claim: Claim, *, profile: str = "quick", seed: int = 0, out_dir: Path | None = None,
    show_progress: bool = False, executor: ExecutorConfig | None = None,
) -> Verdict:
    """Judge one claim: the check with its prediction, then with the broken one (the control).

    A fault of the machinery in either run makes the verdict ``error`` (nothing judged). The control
    is ``caught`` only when the check itself ran and judged the broken prediction out of
    tolerance; a crash or an inconclusive control proves nothing and counts as ``missed``. A missed
    control makes the claim ``fail``, unless the verdict run was itself ``inconclusive`` (then nothing
    was decided either way and the claim stays ``inconclusive``).

    Parameters
    ----------
    claim : Claim
    profile : {"quick", "full"}, default "quick"
    seed : int, default 0
    out_dir : Path, optional
        Figures and the sweeps database go there.
    show_progress : bool, default False
    executor : ExecutorConfig, optional
        How sweeps run (default serial).

    Returns
    -------
    Verdict
    """
    start = time.perf_counter()
    if profile not in claim.profiles:
        return Verdict(claim.id, claim.statement, claim.source, profile, "inconclusive", "missed",
                       None, None, {}, seed, 0.0,
                       {"reason": f"profile {profile!r} not supported by this claim"})
    memo: dict[str, Any] = {}
    executor = executor or ExecutorConfig()
    ctx = Context(claim.id, profile, seed, out_dir, False, memo, show_progress, executor,
                  seed_key=claim.seed_key)
    outcome = evaluate(claim, claim.predict, ctx)
    control_ctx = Context(claim.id, profile, seed, out_dir, True, memo, False, executor,
                          seed_key=claim.seed_key)
    control = outcome if outcome.status == "error" else evaluate(claim, claim.broken, control_ctx)
    if "error" in (outcome.status, control.status):
        failed = outcome if outcome.status == "error" else control
        return Verdict(claim.id, claim.statement, claim.source, profile, "error", "missed", None, None,
                       {}, seed, round(time.perf_counter() - start, 3),
                       {"reason": failed.reason, "traceback": failed.traceback})
    caught = control.status == "fail" and bool(control.comparisons)
    status: Status = outcome.status if caught or outcome.status == "inconclusive" else "fail"
    worst = max(outcome.comparisons, key=lambda c: c.ratio, default=None)
    details: dict[str, Any] = {
        "comparisons": [c.summary() for c in outcome.comparisons],
        "control": {
            "broken_how": claim.broken_how,
            "status": control.status,
            "reason": control.reason,
            "comparisons": [c.summary() for c in control.comparisons],
        },
    }
    if outcome.reason:
        details["reason"] = outcome.reason
    if not caught and outcome.status != "inconclusive":
        details["reason"] = (details.get("reason", "") + "; negative control missed").lstrip("; ")
    if outcome.traceback:
        details["traceback"] = outcome.traceback
    if worst is not None:
        details["worst_case"] = worst.worst_case
    if ctx.captions:
        details["captions"] = dict(ctx.captions)
    details["routes"] = claim_routes(claim.predict, claim.check)
    return Verdict(
        claim_id=claim.id,
        statement=claim.statement,
        source=claim.source,
        profile=profile,
        status=status,
        control="caught" if caught else "missed",
        predicted=worst.predicted[worst.worst_index] if worst else None,
        measured=worst.measured[worst.worst_index] if worst else None,
        tolerance={"rtol": worst.rtol, "atol": worst.worst_atol, "why": worst.why} if worst else {},
        seed=seed,
        seconds=round(time.perf_counter() - start, 3),
        details=details,
        figures=list(ctx.figures),
    )


def run(
    ids: Sequence[str] | None = None,
    profile: str = "quick",
    seed: int = 0,
    out: str | Path | None = None,
    show_progress: bool = False,
    executor: ExecutorConfig | None = None,
) -> list[Verdict]:
    """Run the claims matching ``ids`` and return their verdicts.

    With ``out``, writes ``report.json``, ``report.md``, ``report.html``, figures and the sweeps'
    ``sweeps.sqlite`` there (rerunning with the same ``out`` resumes unfinished sweeps). The report
    is rewritten after every claim, the claims still to run listed as not run, so an interrupted
    run leaves the report of what finished. A claim whose verdict is ``error`` (the machinery
    failed) stops the run: the claims after it are not run.

    Parameters
    ----------
    ids : sequence of str, optional
        Claim ids or family prefixes; None: all.
    profile : {"quick", "full"}, default "quick"
    seed : int, default 0
    out : str or Path, optional
    show_progress : bool, default False
    executor : ExecutorConfig, optional

    Returns
    -------
    list of Verdict
        Sorted by id; only those that ran (the last one ``error`` when the run stopped).

    Raises
    ------
    UnknownClaimError
        When a pattern matches no claim.
    """
    claims = select(ids)
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    verdicts: list[Verdict] = []
    for index, claim in enumerate(claims, 1):
        if show_progress:
            print(f"[{index}/{len(claims)}] {claim.id} ...", file=sys.stderr, flush=True)
        verdict = run_claim(claim, profile=profile, seed=seed, out_dir=out_dir,
                            show_progress=show_progress, executor=executor)
        if show_progress:
            print(f"[{index}/{len(claims)}] {claim.id}: {verdict.status} "
                  f"(control {verdict.control}, {verdict.seconds:.1f} s)", file=sys.stderr,
                  flush=True)
        verdicts.append(verdict)
        if out_dir is not None:
            write_reports(verdicts, out_dir, {"profile": profile, "seed": seed,
                                              "not_run": [c.id for c in claims[index:]]})
        if verdict.status == "error":
            break
    return verdicts


__all__ = ["run", "run_claim", "evaluate", "Outcome"]
