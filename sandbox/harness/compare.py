"""How an answer is compared with what the instructor expects: the one place the rules live.

Values (expression tests) and numeric tokens (stdin/stdout tests in ``numeric`` mode)
follow the same number rule:

- an expected **int** is compared exactly, with Python's own int/float comparison, which is
  exact (``100000000000000000001 != 1e20``, ``3 == 3.0``);
- a **tolerance** (``rel_tol``, ``abs_tol``) applies only where the expected value is a float
  (or complex), or where the test asks for it on integers too (``int_tolerance``);
- NaN equals NaN (an instructor who expects ``nan`` means it), in sets and dict keys too;
- members of sets and keys of dicts are compared exactly (no tolerance: they are looked up).

Two equality modes for values, chosen per test or per assignment:

- ``strict`` (the default): a ``bool`` is not a number (``False`` is not ``0``), a list is not
  a tuple, a set is not a frozenset, and dict keys and set members are compared by kind too;
- ``python``: Python's own ``==`` on top of the number rule (``False == 0``, ``True == 1.0``,
  ``{1} == frozenset({1})``).

Stdlib only: copied into the sandbox image. Runs in the harness, never in a student process.
"""

from __future__ import annotations

import math
import re

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from typing import TypeGuard

    from .wire import Plain

STRICT, PYTHON = "strict", "python"
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.I)
INTEGER = re.compile(r"^[+-]?\d+$")


class Rules:
    """The comparison settings of one test."""

    def __init__(
        self, rel_tol: float = 1e-9, abs_tol: float = 0.0, int_tolerance: bool = False, equality: str = STRICT
    ) -> None:
        self.rel_tol, self.abs_tol = float(rel_tol), float(abs_tol)
        self.int_tolerance = bool(int_tolerance)
        self.python = equality == PYTHON


def _is_number(value: object, rules: Rules) -> TypeGuard[float]:
    t = type(value)
    return t is int or t is float or (t is bool and rules.python)


def numbers_equal(expected: float, actual: float, rules: Rules) -> bool:
    """``expected`` and ``actual`` are ints or floats (bools in python mode)."""
    if type(expected) is float or rules.int_tolerance:
        return _close(expected, actual, rules)
    return expected == actual  # an int against an int or a float: exact, as Python compares them


def _close(expected: float, actual: float, rules: Rules) -> bool:
    try:
        e, a = float(expected), float(actual)
    except OverflowError:  # an int beyond the float range: only an exact match will do
        return expected == actual
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    return e == a or math.isclose(e, a, rel_tol=rules.rel_tol, abs_tol=rules.abs_tol)


def values_equal(expected: Plain, actual: Plain, rules: Rules | None = None) -> bool:
    """Compare two plain values (already rebuilt by the harness from exact builtin types)."""
    rules = rules or Rules()
    if _is_number(expected, rules) and _is_number(actual, rules):
        return numbers_equal(expected, actual, rules)
    te, ta = type(expected), type(actual)
    if te is complex or ta is complex:
        return _complex_equal(expected, actual, rules)
    if te in (set, frozenset) and ta in (set, frozenset) and rules.python:
        return {_key(v, rules) for v in expected} == {_key(v, rules) for v in actual}
    if te is not ta:
        return False
    if te in (list, tuple):
        return len(expected) == len(actual) and all(
            values_equal(e, a, rules) for e, a in zip(expected, actual, strict=True)
        )
    if te is dict:
        return _dicts_equal(expected, actual, rules)
    if te in (set, frozenset):
        return {_key(v, rules) for v in expected} == {_key(v, rules) for v in actual}
    return bool(expected == actual)  # str, bytes, None, bool


def _complex_equal(expected: Plain, actual: Plain, rules: Rules) -> bool:
    kinds = (int, float, complex) + ((bool,) if rules.python else ())
    if type(expected) not in kinds or type(actual) not in kinds:
        return False
    if type(expected) in (int, bool) and not rules.int_tolerance:
        return bool(expected == actual)  # exact, as Python compares an int with a complex
    e, a = complex(expected), complex(actual)
    tolerant = Rules(rules.rel_tol, rules.abs_tol, True, PYTHON if rules.python else STRICT)
    return _close(e.real, a.real, tolerant) and _close(e.imag, a.imag, tolerant)


def _dicts_equal(expected: dict[Plain, Plain], actual: dict[Plain, Plain], rules: Rules) -> bool:
    if len(expected) != len(actual):
        return False
    found = {_key(k, rules): v for k, v in actual.items()}
    for key, value in expected.items():
        marker = _key(key, rules)
        if marker not in found or not values_equal(value, found[marker], rules):
            return False
    return True


def _key(value: Plain, rules: Rules) -> tuple[str, object]:
    """A hashable stand-in for a dict key or set member that keeps kinds apart in strict mode
    (``True`` and ``1`` hash alike, so Python's own sets and dicts would merge them)."""
    t = type(value)
    if t is float and value != value:
        return ("number", "nan")  # every NaN object hashes apart; NaN equals NaN here
    if t is bool and not rules.python:
        return ("bool", value)
    if t in (int, float, bool, complex):
        return ("number", value)
    if t is tuple:
        return ("tuple", tuple(_key(v, rules) for v in value))
    if t is frozenset:
        return ("set" if rules.python else "frozenset", frozenset(_key(v, rules) for v in value))
    return (t.__name__, value)


# -- stdin/stdout tests -------------------------------------------------------------------------
EXACT, TRAILING, WHITESPACE, NUMERIC, REGEX = "exact", "trailing", "whitespace", "numeric", "regex"


def output_equal(expected: str, actual: str, mode: str, rules: Rules | None = None) -> bool:
    """Compare a program's whole output with the expected text."""
    rules = rules or Rules()
    if mode == EXACT:
        return expected == actual
    if mode == TRAILING:
        return _trailing(expected) == _trailing(actual)
    if mode == WHITESPACE:
        return expected.split() == actual.split()
    if mode == NUMERIC:
        want, got = expected.split(), actual.split()
        return len(want) == len(got) and all(token_equal(w, g, rules) for w, g in zip(want, got, strict=True))
    if mode == REGEX:
        return re.fullmatch(expected, actual.rstrip("\n"), re.DOTALL) is not None
    raise ValueError("unknown comparison mode %r" % mode)


def _trailing(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def token_equal(want: str, got: str, rules: Rules) -> bool:
    """Two whitespace-separated tokens: numbers by the number rule, anything else as text.
    An expected integer token (``42``) is an int; any other number token is a float."""
    w, g = _number(want), _number(got)
    if w is None or g is None:
        return want == got
    return numbers_equal(w, g, rules)


def _number(token: str) -> int | float | None:
    if not NUMBER.match(token):
        return None
    try:
        return int(token) if INTEGER.match(token) else float(token)
    except ValueError:  # more digits than Python converts: compare as text
        return None
