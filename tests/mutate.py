"""``make mutate``: the mutation score of theory/ and numerics/, measured with cosmic-ray.

Each module of ``MODULES`` is mutated one change at a time (cosmic-ray's operators: a ``+`` for a
``-``, a comparison turned around, a constant changed, …) and its fast unit tests are run against
every mutant; a mutant the tests still pass *survived*. The mutants are applied in a scratch
worktree of the current commit (``.mutate/tree``, with a copy of ``.venv`` installed editable
there), never in the checkout, and each module's results are kept in ``.mutate/<module>.sqlite``,
so an interrupted run resumes where it stopped. The report (``.mutate/report.md``) gives the kill
rate per module and every survivor with its line and operator, for triage (equivalent mutant, or a
missing check). Slow — about 10 s per mutant — so not part of CI.

The claim-level mode (``--claims``) takes the mutants of a module that survived its unit tests and
runs its family's quick claims against each (``--verdicts FAMILY`` is that test command: exit 1
when any claim's status or control differs from ``tests.test_claims.expected_outcome``); its
results go to ``.mutate/<module>.claims.sqlite``. A mutant that survives both is on no judged
path, or on one that no comparison sees: triage it.

Usage: ``python -m tests.mutate [--claims] [MODULE ...]`` (default: every module of ``MODULES``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutate"
TREE = WORK / "tree"

#: module -> the pytest arguments of its fast unit tests (run from the worktree)
MODULES = {
    "theory/cbn.py": ["tests/test_cbn.py", "-k", "dft or end_to_end or linear_cnn_cost or few_frequency"],
    "theory/not_norms.py": ["tests/test_not_norms.py", "-k",
                            "completion or singular_values or norms_increase or residual or norm_and_rank"],
    "theory/compositionality.py": ["tests/test_compositionality.py", "-k",
                                   "amgm or one_neuron or composition_exponent or part_exponents or kink"],
    "numerics/compositionality/scaling.py": ["tests/test_compositionality.py", "-k",
                                             "scaling or exponent_difference"],
}


def _run(*command: str, cwd: Path = ROOT) -> None:
    subprocess.run(command, cwd=cwd, check=True)


def prepare_tree() -> None:
    """The scratch worktree at the current commit, with its own editable install."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    if not TREE.exists():
        _run("git", "worktree", "add", "--detach", str(TREE), head)
    else:
        _run("git", "checkout", "--detach", "--force", head, cwd=TREE)
    venv = TREE / ".venv"
    if not venv.exists():
        shutil.copytree(ROOT / ".venv", venv, symlinks=True)
        _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-e", str(TREE), "--no-deps",
             "--no-build-isolation", cwd=TREE)


def _config(module: str, command: list[str], suffix: str = "", timeout: float = 120.0) -> Path:
    line = " ".join(f"'{t}'" if " " in t else t for t in command)
    path = WORK / (module.replace("/", "_") + suffix + ".toml")
    path.write_text(f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = {timeout}\nexcluded-modules = []\n'
                    f'test-command = "{line}"\n\n'
                    '[cosmic-ray.distributor]\nname = "local"\n')
    return path


def family(module: str) -> str:
    """The family key of a module of theory/ or numerics/ (``numerics/gnn/walks.py`` -> ``gnn``)."""
    return Path(module).parts[1].removesuffix(".py")


def _exec(config: Path, database: Path) -> Path:
    cosmic = str(Path(sys.executable).parent / "cosmic-ray")
    if not database.exists():
        _run(cosmic, "init", str(config), str(database), cwd=TREE)
    _run(cosmic, "exec", str(config), str(database), cwd=TREE)
    return database


def mutate(module: str) -> Path:
    """Run (or resume) the mutants of ``module`` against its unit tests; returns the results database."""
    command = [".venv/bin/python", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *MODULES[module]]
    config = _config(module, command)
    return _exec(config, config.with_suffix(".sqlite"))


def mutate_claims(module: str) -> Path:
    """Run (or resume) the unit tests' survivors of ``module`` against its family's quick claims."""
    units = mutate(module)
    config = _config(module, [".venv/bin/python", "-m", "tests.mutate", "--verdicts", family(module)],
                     suffix=".claims", timeout=1800.0)
    database = config.with_suffix(".sqlite")
    if not database.exists():
        shutil.copy(units, database)
        with sqlite3.connect(database) as db:  # keep the survivors only, as work not yet done
            killed = [(job,) for (job,) in db.execute(
                "select job_id from work_results where test_outcome != 'survived'")]
            for table in ("work_results", "mutation_specs", "work_items"):
                db.executemany(f"delete from {table} where job_id = ?", killed)
            db.execute("delete from work_results")
    return _exec(config, database)


def verdicts_changed(family_key: str) -> dict[str, tuple[str, str]]:
    """The claims of ``family_key`` whose (status, control) on quick at seed 0 differ from
    ``tests.test_claims.expected_outcome``, with what they gave."""
    import rankcheck.proofs_checks as proofs_checks
    from tests.test_claims import expected_outcome

    verdicts = proofs_checks.run([family_key], profile="quick", seed=0)
    return {v.claim_id: (v.status, v.control) for v in verdicts
            if (v.status, v.control) != expected_outcome(v.claim_id)}


def summary(module: str, database: Path) -> list[str]:
    """The kill rate of ``module`` and its survivors, as Markdown lines."""
    with sqlite3.connect(database) as db:
        rows = db.execute("select s.start_pos_row, s.operator_name, s.definition_name, r.test_outcome "
                          "from mutation_specs s join work_results r on s.job_id = r.job_id").fetchall()
        pending = db.execute("select count(*) from work_items").fetchone()[0] - len(rows)
    killed = sum(outcome == "killed" for *_, outcome in rows)
    survived = sorted((line, op, name) for line, op, name, outcome in rows if outcome == "survived")
    rate = killed / len(rows) if rows else float("nan")
    lines = [f"## `{module}`: {killed} of {len(rows)} killed ({rate:.0%}), {len(survived)} survived"
             + (f", {pending} not run" if pending else ""), ""]
    lines += [f"- line {line}, `{name}`: {op.removeprefix('core/')}" for line, op, name in survived]
    return [*lines, ""]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--verdicts"]:  # the claim-level test command, run inside the worktree
        changed = verdicts_changed(argv[1])
        print(f"verdicts changed: {changed}" if changed else "verdicts as expected")
        return 1 if changed else 0
    claims = argv[:1] == ["--claims"]
    modules = argv[1:] if claims else argv
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"error: not in tests/mutate.py's MODULES: {unknown}", file=sys.stderr)
        return 2
    WORK.mkdir(exist_ok=True)
    prepare_tree()
    report = ["# Mutation score (cosmic-ray)" + (", claim level" if claims else ""), ""]
    for module in modules or list(MODULES):
        report += summary(module, mutate_claims(module) if claims else mutate(module))
    (WORK / ("report.claims.md" if claims else "report.md")).write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
