"""The claim registry: runs theory against numerics, judges, reports.

Python API::

    import rankcheck.proofs_checks as proofs_checks
    verdicts = proofs_checks.run(["dln"], profile="quick", seed=0)
"""

from rankcheck.proofs_checks.context import Context, Inconclusive
from rankcheck.proofs_checks.registry import REGISTRY, Claim, UnknownClaimError, all_claims, claim, select
from rankcheck.proofs_checks.runner import run, run_claim
from rankcheck.proofs_checks.verdict import Comparison, Verdict

__all__ = [
    "REGISTRY", "Claim", "Comparison", "Context", "Inconclusive", "UnknownClaimError", "Verdict",
    "all_claims", "claim", "run", "run_claim", "select",
]
