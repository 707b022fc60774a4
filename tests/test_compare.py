"""The comparison rules (sandbox/harness/compare.py), without containers: the number rule,
the two equality modes and numeric stdout tokens. The red team's class: wrong numbers that a
tolerance or a float conversion would let through."""

import math

import pytest

from sandbox.harness.compare import PYTHON, Rules, output_equal, token_equal, values_equal

BIG = 100000000000000000001


@pytest.mark.parametrize(
    "expected, actual",
    [
        (BIG, 1e20),  # the red team's case: float(BIG) == 1e20
        (BIG, BIG - 1),
        (10**30, 1e30),  # 1e30 is not exactly 10**30
        (2**53 + 1, float(2**53 + 1)),
        (1000000000, 1000000000.0000001),
        (-(10**25) - 7, -1e25),
        (10**400, math.inf),
        (3, 3.0000000001),  # within the default relative tolerance, still wrong for an int
        (0, 1e-300),
        (7, math.nan),
        ([BIG], [1e20]),
        ({"n": BIG}, {"n": 1e20}),
        ((1, BIG), (1, 1e20)),
    ],
)
def test_it_compares_an_expected_int_exactly(expected, actual):
    assert values_equal(expected, actual) is False


@pytest.mark.parametrize("expected, actual", [(3, 3.0), (10**20, 1e20), (-4, -4.0), (0, -0.0), (BIG, BIG)])
def test_it_accepts_a_float_that_is_exactly_the_expected_int(expected, actual):
    assert values_equal(expected, actual) is True


def test_it_applies_the_tolerance_where_the_expected_value_is_a_float():
    assert values_equal(0.3, 0.1 + 0.2)
    assert values_equal(1e20, BIG)  # an expected float: BIG is within tolerance of it
    assert values_equal(1.0, 1.0000000001)
    assert not values_equal(1.0, 1.001)
    assert values_equal(math.nan, math.nan)


def test_it_applies_the_tolerance_to_ints_only_when_the_test_asks():
    rules = Rules(rel_tol=1e-9, int_tolerance=True)
    assert values_equal(BIG, 1e20, rules)
    assert values_equal(10**12, 10**12 + 1, rules)
    assert not values_equal(10**12, 10**12 + 10**6, rules)
    assert values_equal(10**400, 10**400, rules)  # beyond the float range: exact match still works
    assert not values_equal(10**400, 10**400 + 1, rules)


@pytest.mark.parametrize(
    "expected, actual, strict, python",
    [
        (0, False, False, True),
        (1, True, False, True),
        (True, 1.0, False, True),
        (False, 0, False, True),
        ([0, 1], [False, True], False, True),
        ({1: "a"}, {True: "a"}, False, True),
        ({1, 2}, {True, 2}, False, True),
        (frozenset({1}), {1}, False, True),
        ([1, 2], (1, 2), False, False),  # Python says so too
        ({"a": 1}, {"a": 1, "b": 2}, False, False),
        (True, True, True, True),
        (None, 0, False, False),
        ("1", 1, False, False),
        (b"x", "x", False, False),
        (1 + 0j, 1, True, True),
    ],
)
def test_it_has_a_strict_default_and_pythons_own_equality_on_request(expected, actual, strict, python):
    assert values_equal(expected, actual) is strict
    assert values_equal(expected, actual, Rules(equality=PYTHON)) is python


def test_it_never_lets_a_bool_pass_for_an_int_inside_containers_by_default():
    assert not values_equal({(1, 2)}, {(True, 2)})
    assert not values_equal({1: [0]}, {True: [False]})


@pytest.mark.parametrize(
    "want, got, equal",
    [
        ("100000000000000000001", "1e20", False),
        ("100000000000000000001", "100000000000000000000", False),
        ("42", "42.0", True),
        ("42", "42.0000001", False),
        ("0.5", "0.5000000001", True),
        ("1e20", "100000000000000000001", True),
        ("nan", "NaN", True),
        ("7", "nan", False),
        ("7", "inf", False),
        ("abc", "abc", True),
        ("3", "three", False),
        ("1" * 5000, "1" * 5000, True),  # more digits than int() converts: compared as text
    ],
)
def test_it_applies_the_same_rule_to_numeric_output_tokens(want, got, equal):
    assert token_equal(want, got, Rules()) is equal


def test_numeric_output_mode_compares_every_token():
    assert output_equal("1 2.5\n3\n", "1   2.5000000001 3", "numeric")
    assert not output_equal("100000000000000000001\n", "1e20\n", "numeric")
    assert output_equal("100000000000000000001\n", "1e20\n", "numeric", Rules(int_tolerance=True))
    assert not output_equal("1 2", "1 2 3", "numeric")


@pytest.mark.parametrize(
    "expected, actual", [(3, 3.0000000001 + 0j), (10**18 + 1, complex(1e18)), (BIG, complex(1e20))]
)
def test_a_complex_answer_gets_no_tolerance_against_an_expected_int(expected, actual):
    assert values_equal(expected, actual) is False
    assert values_equal(expected, actual, Rules(equality=PYTHON)) is False
    assert values_equal(3, 3 + 0j) is True  # exactly equal, as Python says


def test_nan_equals_nan_in_sets_and_dict_keys_too():
    nan = float("nan")
    assert values_equal({nan}, {float("nan")}) and values_equal({nan: 1}, {float("nan"): 1})
    assert not values_equal({nan}, {1.0})
