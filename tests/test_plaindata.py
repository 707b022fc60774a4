"""The plain-data codec and the grader's equality, without containers."""

import math

import pytest

from sandbox.harness import compare, plaindata


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(10**40),
        1.5,
        -0.0,
        math.inf,
        "é",
        b"\x00\xff",
        1 - 2j,
        [1, (2, {3})],
        {"a": frozenset({1}), (1, 2): None},
        set(),
        (),
    ],
)
def test_it_round_trips_plain_values(value):
    decoded = plaindata.decode(plaindata.encode(value))
    assert type(decoded) is type(value) and compare.values_equal(value, decoded)


def test_it_round_trips_nan():
    assert math.isnan(plaindata.decode(plaindata.encode(float("nan"))))


@pytest.mark.parametrize(
    "value", [object(), type("Int", (int,), {})(3), type("L", (list,), {})(), len, [1, [2, object()]]]
)
def test_it_refuses_anything_that_is_not_exact_plain_data(value):
    with pytest.raises(plaindata.Unencodable):
        plaindata.encode(value)


def test_it_refuses_deep_and_huge_values():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(plaindata.Unencodable, match="deeply"):
        plaindata.encode(deep)
    with pytest.raises(plaindata.Unencodable, match="too large"):
        plaindata.encode(list(range(plaindata.MAX_ITEMS + 1)))


@pytest.mark.parametrize("payload", [{"x": 1}, {"i": "1", "f": "2"}, [1], {"l": "notalist"}, {"i": "abc"}])
def test_it_rejects_malformed_payloads(payload):
    with pytest.raises((ValueError, TypeError)):
        plaindata.decode(payload)


@pytest.mark.parametrize(
    "expected, actual, tol, equal",
    [
        (1, 1.0, 0, True),
        (True, 1, 0, False),
        (1, True, 0, False),
        (0.3, 0.1 + 0.2, 1e-9, True),
        (0.3, 0.1 + 0.2, 0, False),
        (math.nan, math.nan, 0, True),
        (0.0, -0.0, 0, True),
        ([1, 2], (1, 2), 0, False),
        ({1, 2}, [1, 2], 0, False),
        ({"a": [0.3]}, {"a": [0.1 + 0.2]}, 1e-9, True),
        ({"a": 1}, {"a": 1, "b": 2}, 0, False),
        ("ab" * 10**5, "ab" * 10**5, 0, True),
        (None, 0, 0, False),
        (1 + 1j, 1 + 1j, 0, True),
        (b"x", "x", 0, False),
    ],
)
def test_it_compares_like_a_grader(expected, actual, tol, equal):
    assert compare.values_equal(expected, actual, compare.Rules(rel_tol=tol)) is equal


@pytest.mark.parametrize(
    "text, value", [("-inf", -math.inf), ("(1, 'a', None)", (1, "a", None)), ("{1: [b'x']}", {1: [b"x"]})]
)
def test_it_parses_expected_literals(text, value):
    assert plaindata.parse_literal(text) == value


@pytest.mark.parametrize("text", ["__import__('os')", "x", "[1, 2", "open('f')"])
def test_it_refuses_expected_values_that_are_not_literals(text):
    with pytest.raises((ValueError, SyntaxError)):
        plaindata.parse_literal(text)
