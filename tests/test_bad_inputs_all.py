"""Every public solver that takes an array refuses a bad one by name, found by introspection.

The functions are not listed by hand: every function in the ``__all__`` of a ``rankcheck.numerics``
module with an ``ArrayLike`` parameter, whose other required parameters are plain numbers, is
called with Hypothesis-drawn bad arrays — non-finite entries in any shape, text, an empty array —
and must raise a ``ValueError`` naming one of its parameters (or ``NotConvergedError``): never a
foreign exception, a NaN result or a hang (10 s per call). Functions whose other parameters are
lists of arrays, networks or graphs are driven by the hand-written cases of ``test_bad_inputs.py``.
"""

import importlib
import inspect
import pkgutil
import signal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcheck.numerics
from rankcheck.errors import NotConvergedError

#: functions for which an empty array is a valid input, with the answer it gets
EMPTY_IS_VALID = {
    "rankcheck.numerics.compositionality.targets.matern_kernel": "elementwise: an empty result",
    "rankcheck.numerics.gnn.graphs.edge_index_of": "no pairs: the empty graph's (2, 0)",
    "rankcheck.numerics.gnn.product.rank_mod": "a matrix without rows has rank 0",
}
PLAIN = {"int": 2, "float": 0.5, "bool": False}


def _drivable() -> dict[str, tuple]:
    found = {}
    for info in pkgutil.walk_packages(rankcheck.numerics.__path__, "rankcheck.numerics."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            function = getattr(module, name)
            if not inspect.isfunction(function) or function.__module__ != info.name:
                continue
            parameters = inspect.signature(function).parameters.values()
            arrays = [p.name for p in parameters if "ArrayLike" in str(p.annotation)]
            required = [p for p in parameters if p.default is inspect.Parameter.empty
                        and p.name not in arrays and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            if arrays and all(str(p.annotation) in PLAIN for p in required):
                found[f"{info.name}.{name}"] = (function, arrays, {p.name: PLAIN[str(p.annotation)]
                                                                   for p in required})
    return found


DRIVABLE = _drivable()


def test_the_introspection_finds_the_solvers():
    assert len(DRIVABLE) >= 40
    assert "rankcheck.numerics.dln.representation_cost" in DRIVABLE


class _Timeout(Exception):
    pass


def _call_with_limit(function, kwargs, seconds=10):
    def expire(*_):
        raise _Timeout(f"{function.__qualname__} ran past {seconds} s on a bad input")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return function(**kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


bad_arrays = st.one_of(
    st.tuples(st.sampled_from([np.nan, np.inf, -np.inf]),
              st.lists(st.integers(1, 4), min_size=1, max_size=3)).map(
        lambda spec: np.full(spec[1], spec[0])),
    st.just("abc"),
    st.just(np.zeros((0, 3))),
)


@pytest.mark.parametrize("name", sorted(DRIVABLE))
@settings(max_examples=6, deadline=None)
@given(bad=bad_arrays)
def test_a_bad_array_is_refused_by_name(name, bad):
    function, arrays, plain = DRIVABLE[name]
    if isinstance(bad, np.ndarray) and bad.size == 0 and name in EMPTY_IS_VALID:
        return
    # every array argument gets a bad value: whichever the function checks first must be named
    kwargs = {**plain, **{array: bad for array in arrays}}
    parameters = set(inspect.signature(function).parameters)
    try:
        result = _call_with_limit(function, kwargs)
    except NotConvergedError:
        return
    except ValueError as err:
        assert any(p in str(err) for p in parameters), f"{name}: {err} names no parameter"
        return
    pytest.fail(f"{name} accepted {bad!r} in {arrays} and returned {type(result).__name__}")
