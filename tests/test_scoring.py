"""Late penalties, table-driven."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from grading.scoring import LateRejected, apply_penalty, lateness

DEADLINE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def policy(**overrides):
    base = dict(
        deadline=DEADLINE,
        hard_deadline=None,
        late_policy="penalty",
        late_penalty_percent=Decimal(10),
        late_penalty_unit="day",
        late_penalty_cap_percent=Decimal(50),
    )
    return SimpleNamespace(**{**base, **overrides})


@pytest.mark.parametrize(
    "delay, overrides, late, penalty",
    [
        (timedelta(0), {}, False, 0),
        (timedelta(seconds=-1), {}, False, 0),
        (timedelta(seconds=1), {}, True, 10),
        (timedelta(days=1), {}, True, 10),
        (timedelta(days=1, seconds=1), {}, True, 20),
        (timedelta(days=30), {}, True, 50),  # capped
        (timedelta(hours=3), {"late_penalty_unit": "hour", "late_penalty_percent": Decimal(5)}, True, 15),
        (timedelta(days=3), {"late_policy": "accept"}, True, 0),
        (timedelta(days=300), {"late_penalty_cap_percent": Decimal(100)}, True, 100),
        (timedelta(days=3), {"deadline": None}, False, 0),
    ],
)
def test_it_computes_lateness(delay, overrides, late, penalty):
    result = lateness(policy(**overrides), DEADLINE + delay)
    assert (result.is_late, result.penalty_percent) == (late, Decimal(penalty))


@pytest.mark.parametrize(
    "overrides, delay",
    [
        ({"late_policy": "reject"}, timedelta(seconds=1)),
        ({"hard_deadline": DEADLINE + timedelta(days=1)}, timedelta(days=1, seconds=1)),
    ],
)
def test_it_rejects_late_work(overrides, delay):
    with pytest.raises(LateRejected):
        lateness(policy(**overrides), DEADLINE + delay)


@pytest.mark.parametrize(
    "raw, penalty, score",
    [(10, 0, "10.00"), (10, 15, "8.50"), (3, 100, "0.00"), (Decimal("2.5"), 10, "2.25")],
)
def test_it_applies_the_penalty(raw, penalty, score):
    assert apply_penalty(Decimal(raw), Decimal(penalty)) == Decimal(score)


@pytest.mark.parametrize(
    "extension, delay, late, penalty",
    [
        (
            SimpleNamespace(deadline=DEADLINE + timedelta(days=2), hard_deadline=None),
            timedelta(days=1),
            False,
            0,
        ),
        (
            SimpleNamespace(deadline=DEADLINE + timedelta(days=2), hard_deadline=None),
            timedelta(days=3),
            True,
            10,
        ),
        (SimpleNamespace(deadline=DEADLINE - timedelta(days=1), hard_deadline=None), timedelta(0), True, 10),
    ],
)
def test_an_extension_replaces_the_deadlines(extension, delay, late, penalty):
    result = lateness(policy(), DEADLINE + delay, extension)
    assert (result.is_late, result.penalty_percent) == (late, Decimal(penalty))


def test_an_extension_beats_the_assignments_hard_deadline():
    extension = SimpleNamespace(
        deadline=DEADLINE + timedelta(days=5), hard_deadline=DEADLINE + timedelta(days=6)
    )
    strict = policy(hard_deadline=DEADLINE + timedelta(hours=1))
    assert lateness(strict, DEADLINE + timedelta(days=4), extension).is_late is False
    with pytest.raises(LateRejected):
        lateness(strict, DEADLINE + timedelta(days=7), extension)
