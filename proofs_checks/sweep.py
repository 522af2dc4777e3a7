"""Sweeps: a pure function of one case, run over a grid, stored in SQLite, resumable, parallel.

A case is a dict of JSON-serializable parameters (its seed included); the function returns a dict
of JSON-serializable results. Cases are keyed by a hash of the function's name, its code version
(by default a hash of the code it reaches in this distribution: its source, its module's helpers it
calls, the ``rankcheck`` modules it uses) and the parameters, so finished cases
are skipped on a rerun and changed code reruns them. Only the calling process writes to the database
(WAL mode, one transaction per finished case): an interrupted sweep — Ctrl-C, a crash, a killed
worker or a killed process — loses at most the cases that were running.

Executors: ``serial``; ``processes`` (a local pool, torch pinned to one thread per worker); ``dask``
(an embedded ``LocalCluster``, or an existing cluster given by its scheduler address). Every case
runs with torch on one thread, so the same seeds give bit-identical results on every executor.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "InfrastructureError", "CaseFunction", "EXECUTORS", "grid", "OWN_NAMESPACE", "code_names",
    "code_dependencies", "code_version", "case_key", "Sweep", "SCHEMA", "SweepStore", "CaseOutcome",
    "qualified_name",
    "pin_threads", "execute_case", "die_with_parent", "worker_initializer", "ExecutorConfig",
    "check_scheduler", "RUNNERS", "SweepResult", "run_sweep"
]

CaseFunction = Callable[[dict[str, Any]], dict[str, Any]]
EXECUTORS = ("serial", "processes", "dask")


class InfrastructureError(RuntimeError):
    """The machinery failed — the executor, a worker, the scheduler, the store, the disk or the
    memory — not the check: the runner reports the claim as ``error`` and stops the run.

    A case function's own exceptions never become one: they are recorded with the case. Anything
    else that escapes the executor or the store does.
    """


# --------------------------------------------------------------------------- grids and keys
def grid(**parameters: Sequence[Any]) -> list[dict[str, Any]]:
    """The product of parameter lists: ``grid(a=[1, 2], seed=[0, 1])`` gives 4 cases.

    Parameters
    ----------
    **parameters : sequence
        One list of values per parameter.

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        No parameter, or one that is not a list of values.
    """
    if not parameters:
        raise ValueError("grid needs at least one parameter list")
    for name, values in parameters.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"grid parameter {name!r} must be a list of values, got {values!r}")
    names = list(parameters)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*parameters.values())]


def _canonical(value: Any, where: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} must be JSON-serializable (finite numbers, str, lists, dicts): "
                         f"{err}") from err


#: The distribution whose code a stored case depends on: an edit of a module of this namespace that a
#: case function reaches invalidates its stored cases.
OWN_NAMESPACE = __name__.split(".")[0]


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}"


def code_names(code: Any) -> set[str]:
    """Global names a code object (and the functions nested in it) may look up.

    Parameters
    ----------
    code : types.CodeType

    Returns
    -------
    set of str
    """
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= code_names(const)
    return names


def code_dependencies(function: Callable[..., Any]) -> list[str]:
    """Sources a case function's results depend on within the ``rankcheck`` namespace.

    Its own, those of the functions and classes of its module that it reaches, and the whole source of
    every other module of the namespace that it reaches (through names, transitively through those
    modules' globals). Plotting code elsewhere in a check's module is left out, so a figure can change
    without rerunning the sweep.

    Parameters
    ----------
    function : callable

    Returns
    -------
    list of str
        Sorted by qualified name.
    """
    home = getattr(function, "__module__", None)
    seen: dict[str, str] = {}
    pending: list[Any] = [function]
    while pending:
        obj = pending.pop()
        if inspect.ismodule(obj):
            key, reached = obj.__name__, list(vars(obj).values())
        else:
            key = f"{obj.__module__}.{obj.__qualname__}"
            code = getattr(obj, "__code__", None)
            scope = getattr(obj, "__globals__", {})
            reached = [scope[name] for name in sorted(code_names(code)) if name in scope] if code else []
        if key in seen:
            continue
        seen[key] = _source(obj)
        for target in reached:
            if inspect.ismodule(target):
                module = target.__name__
            else:
                target = inspect.unwrap(target) if callable(target) else target  # through caches
                module = getattr(target, "__module__", None)
            if not isinstance(module, str) or module.split(".")[0] != OWN_NAMESPACE:
                continue
            if inspect.ismodule(target) or module != home:
                pending.append(target if inspect.ismodule(target) else sys.modules[module])
            elif inspect.isfunction(target) or inspect.isclass(target):
                pending.append(target)
    return [seen[key] for key in sorted(seen)]


def code_version(function: Callable[..., Any]) -> str:
    """A hash of the sources the function depends on (``code_dependencies``).

    Parameters
    ----------
    function : callable

    Returns
    -------
    str
        12 hexadecimal digits.
    """
    return hashlib.sha256("\n".join(code_dependencies(function)).encode()).hexdigest()[:12]


def case_key(name: str, version: str, case: Mapping[str, Any]) -> str:
    """Stable id of one case: sha256 of (function name, code version, canonical parameters).

    Parameters
    ----------
    name : str
    version : str
    case : mapping

    Returns
    -------
    str
        20 hexadecimal digits.
    """
    text = _canonical({"function": name, "version": version, "params": case}, "case")
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Sweep:
    """A named case function over a list of cases.

    Attributes
    ----------
    name : str
    function : callable dict -> dict
        Importable by worker processes (a module-level function).
    cases : list of dict
        JSON-serializable, distinct.
    version : str
        Default: ``code_version(function)``.
    """

    name: str
    function: CaseFunction
    cases: list[dict[str, Any]]
    version: str = ""

    def __post_init__(self) -> None:
        if not self.cases:
            raise ValueError(f"sweep {self.name!r}: the grid is empty")
        if not self.version:
            object.__setattr__(self, "version", code_version(self.function))
        seen: dict[str, int] = {}
        for index, case in enumerate(self.cases):
            if not isinstance(case, Mapping):
                raise ValueError(f"sweep {self.name!r}: case {index} must be a dict, got {case!r}")
            _canonical(dict(case), f"sweep {self.name!r}: case {index}")
            key = self.key(case)
            if key in seen:
                raise ValueError(f"sweep {self.name!r}: case {index} duplicates case {seen[key]}: "
                                 f"{case!r}")
            seen[key] = index

    @property
    def function_name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    def key(self, case: Mapping[str, Any]) -> str:
        return case_key(self.function_name, self.version, case)


# --------------------------------------------------------------------------- the store
SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    key TEXT PRIMARY KEY,
    sweep TEXT NOT NULL,
    function TEXT NOT NULL,
    version TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    result TEXT,
    error TEXT,
    seconds REAL NOT NULL,
    finished TEXT NOT NULL
)
"""


class SweepStore:
    """Finished cases in SQLite (WAL mode, one transaction per case)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute(SCHEMA)
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finished(self, keys: Iterable[str]) -> dict[str, sqlite3.Row]:
        """Rows of the given keys that are already stored with status ``ok``."""
        self.connection.row_factory = sqlite3.Row
        wanted = list(keys)
        rows: dict[str, sqlite3.Row] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT * FROM cases WHERE status = 'ok' AND key IN ({marks})"
            rows.update((row["key"], row) for row in self.connection.execute(query, chunk))
        return rows

    def record(self, sweep: Sweep, key: str, case: Mapping[str, Any], outcome: CaseOutcome) -> None:
        with self.connection:  # one transaction
            self.connection.execute(
                "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, sweep.name, sweep.function_name, sweep.version, _canonical(dict(case), "case"),
                 outcome.status, outcome.result_json, outcome.error, outcome.seconds,
                 time.strftime("%Y-%m-%dT%H:%M:%S")),
            )

    def summary(self) -> list[dict[str, Any]]:
        """Per sweep name: finished cases, errors, total and mean seconds."""
        query = (
            "SELECT sweep, SUM(status = 'ok'), SUM(status = 'error'), SUM(seconds), MAX(finished) "
            "FROM cases GROUP BY sweep ORDER BY sweep"
        )
        return [
            {"sweep": name, "ok": ok, "errors": errors, "seconds": total, "last": last}
            for name, ok, errors, total, last in self.connection.execute(query)
        ]

    def errors(self) -> list[tuple[str, str, str]]:
        """(sweep, params, traceback) of every failed case."""
        query = "SELECT sweep, params, error FROM cases WHERE status = 'error' ORDER BY sweep"
        return list(self.connection.execute(query))


# --------------------------------------------------------------------------- running one case
@dataclass(frozen=True)
class CaseOutcome:
    """One case's outcome.

    Attributes
    ----------
    status : {"ok", "error"}
    result_json : str or None
        The result as JSON (``ok``).
    error : str or None
        The traceback (``error``).
    seconds : float
    error_type : str or None
        The exception's qualified type name, e.g. ``rankcheck.errors.NotConvergedError``.
    """

    status: str
    result_json: str | None
    error: str | None
    seconds: float
    error_type: str | None = None


def qualified_name(kind: type) -> str:
    """``module.QualName`` of a class (how ``error_type`` names an exception's type).

    Parameters
    ----------
    kind : type

    Returns
    -------
    str
    """
    return f"{kind.__module__}.{kind.__qualname__}"


def pin_threads() -> None:
    """One thread per worker for torch and the BLAS (set before heavy imports in workers)."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    import torch

    torch.set_num_threads(1)


def die_with_parent(poll_seconds: float = 0.5) -> None:
    """Exit this process as soon as its parent is gone (a daemon thread polls the parent's pid).

    A pool worker whose parent was killed (SIGKILL leaves no chance to shut the pool down) would
    otherwise wait for work for ever, holding its memory.

    Parameters
    ----------
    poll_seconds : float, default 0.5
    """
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def worker_initializer() -> None:
    """What every pool worker runs first: ``pin_threads``, ``die_with_parent``, and Ctrl-C ignored
    (the parent handles it once, instead of a traceback from every worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin_threads()
    die_with_parent()


def execute_case(function: CaseFunction, case: dict[str, Any]) -> CaseOutcome:
    """Run one case with torch on one thread; an ``Exception`` becomes an ``error`` outcome.

    ``SystemExit`` and ``KeyboardInterrupt`` propagate: they stop the sweep, not the case.

    Parameters
    ----------
    function : callable dict -> dict
    case : dict

    Returns
    -------
    CaseOutcome
    """
    from rankcheck.numerics.threads import torch_threads

    start = time.perf_counter()
    with torch_threads(1):
        try:
            result = function(dict(case))
            if not isinstance(result, Mapping):
                raise TypeError(f"a case function must return a dict, got {type(result).__name__}")
            encoded = _canonical(dict(result), "the case's result")
            return CaseOutcome("ok", encoded, None, time.perf_counter() - start)
        except Exception as err:  # noqa: BLE001 - recorded with its traceback, the sweep goes on
            return CaseOutcome("error", None, traceback.format_exc(), time.perf_counter() - start,
                               qualified_name(type(err)))


# --------------------------------------------------------------------------- executors
@dataclass(frozen=True)
class ExecutorConfig:
    """How to run the cases.

    Attributes
    ----------
    kind : {"serial", "processes", "dask"}, default "serial"
    jobs : int, default 1
        Workers of the process pool or of an embedded Dask ``LocalCluster``.
    scheduler : str or None
        Address of an existing Dask cluster; None starts a ``LocalCluster`` of ``jobs``.
    """

    kind: str = "serial"
    jobs: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.kind!r}")
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {self.jobs!r}")


def _serial(function: CaseFunction, pending: list[tuple[str, dict[str, Any]]], _: ExecutorConfig):
    for key, case in pending:
        yield key, case, execute_case(function, case)


def _processes(function: CaseFunction, pending: list[tuple[str, dict[str, Any]]],
               config: ExecutorConfig):
    pool = ProcessPoolExecutor(max_workers=config.jobs, initializer=worker_initializer)
    try:
        futures = {pool.submit(execute_case, function, case): (key, case) for key, case in pending}
        for future in as_completed(futures):
            key, case = futures[future]
            yield key, case, future.result()
    except BaseException:
        # interrupted or broken: do not wait for the running cases (the workers finish theirs, or
        # die with this process if it exits); what finished is stored already
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Connect to a Dask scheduler once, before any claim runs.

    Parameters
    ----------
    address : str
        E.g. ``tcp://host:8786``.
    timeout : float, default 5
        Seconds.

    Raises
    ------
    InfrastructureError
        When it cannot be reached in time, or dask.distributed is not installed.
    """
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise InfrastructureError("a Dask scheduler needs dask.distributed: pip install "
                                  "'rankcheck[cluster]'") from err
    try:
        Client(address, timeout=timeout).close()
    except Exception as err:  # noqa: BLE001 - whatever the transport raises, the scheduler is unreachable
        raise InfrastructureError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s: "
                                  f"{type(err).__name__}: {err}") from err


def _dask(function: CaseFunction, pending: list[tuple[str, dict[str, Any]]],
          config: ExecutorConfig):
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    if config.scheduler:
        client, cluster = Client(config.scheduler, timeout=10), None
    else:
        cluster = LocalCluster(n_workers=config.jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        client.run(pin_threads)
        futures = {
            client.submit(execute_case, function, case, key=f"{function.__name__}-{key}",
                          pure=False): (key, case)
            for key, case in pending
        }
        for future in dask_completed(list(futures)):
            key, case = futures[future]
            yield key, case, future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


RUNNERS = {"serial": _serial, "processes": _processes, "dask": _dask}


# --------------------------------------------------------------------------- running a sweep
@dataclass
class SweepResult:
    """The rows of a sweep, in grid order.

    Attributes
    ----------
    sweep : Sweep
    rows : list of dict
        ``params`` merged with ``result``; failed cases carry ``error``.
    ran : int
        Cases run by this call.
    skipped : int
        Cases read back from the store.
    errors : list of dict
        The failed cases: ``params``, ``error`` (the traceback) and ``error_type`` (the exception's
        qualified type name), so a caller decides by type, not by the traceback's text.
    """

    sweep: Sweep
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    errors: list[dict[str, Any]] = field(default_factory=list)

    def ok_rows(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if "error" not in row]


def run_sweep(
    sweep: Sweep,
    store: str | Path,
    executor: ExecutorConfig | None = None,
    show_progress: bool = True,
) -> SweepResult:
    """Run the cases of ``sweep`` not yet stored in ``store`` and return every row.

    Cases that failed before are retried; finished ones are read back, not rerun. The progress
    bar is drawn only on a terminal: written to a file, carriage returns would fill it (the runner
    prints one line per finished claim either way).

    Parameters
    ----------
    sweep : Sweep
    store : str or Path
        The SQLite database.
    executor : ExecutorConfig, optional
        Default serial.
    show_progress : bool, default True

    Returns
    -------
    SweepResult

    Raises
    ------
    InfrastructureError
        When the executor (a worker lost, the scheduler gone), the store or the disk fails; the
        cases finished before stay stored.
    """
    config = executor or ExecutorConfig()
    keys = [sweep.key(case) for case in sweep.cases]
    try:
        return _run_pending(sweep, keys, store, config, show_progress)
    except (KeyboardInterrupt, SystemExit, InfrastructureError):
        raise
    except Exception as err:  # noqa: BLE001 - a case's own errors are recorded inside; this is the machinery
        raise InfrastructureError(f"sweep {sweep.name}: the {config.kind} executor or the store at "
                                  f"{store} failed: {type(err).__name__}: {err}") from err


def _run_pending(sweep: Sweep, keys: list[str], store: str | Path, config: ExecutorConfig,
                 show_progress: bool) -> SweepResult:
    with SweepStore(store) as database:
        done = database.finished(keys)
        pending = [(k, c) for k, c in zip(keys, sweep.cases, strict=True) if k not in done]
        outcomes: dict[str, CaseOutcome] = {}
        progress = None
        if show_progress and pending and sys.stderr.isatty():  # a log file gets no bar's \r
            from tqdm import tqdm

            progress = tqdm(total=len(keys), initial=len(keys) - len(pending),
                            desc=f"sweep {sweep.name}", file=sys.stderr, leave=False)
        try:
            for key, case, outcome in RUNNERS[config.kind](sweep.function, pending, config):
                database.record(sweep, key, case, outcome)
                outcomes[key] = outcome
                if progress is not None:
                    progress.update()
        finally:
            if progress is not None:
                progress.close()
        rows, errors = [], []
        for key, case in zip(keys, sweep.cases, strict=True):
            if key in done:
                rows.append({**case, **json.loads(done[key]["result"])})
                continue
            outcome = outcomes[key]
            if outcome.status == "ok":
                rows.append({**case, **json.loads(outcome.result_json or "{}")})
            else:
                rows.append({**case, "error": outcome.error})
                errors.append({"params": case, "error": outcome.error, "error_type": outcome.error_type})
    return SweepResult(sweep, rows, ran=len(pending), skipped=len(done), errors=errors)
