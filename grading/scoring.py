"""The scoring rules, defined once: late penalties, and what an attempt is worth.

**What an attempt is worth** (its final score): the instructor's override if there is one;
otherwise the tests' points plus the approved rubric points, less the late penalty (a
percentage of that sum), rounded half up to the cent. ``final_score`` computes it in Python
for a submission in hand; ``FINAL_SCORE`` is the same in SQL (``Submission.objects
.with_final_score()``), and a test holds the two equal.

**Which attempt counts** (last, or best when the assignment says so; ties go to the later
attempt) is ``Submission.objects.counted()``, built on ``FINAL_SCORE``. Every surface
(dashboard, assignment page, gradebook and its CSV, the API's grades, webhooks, analytics,
staff filters) reads scores through these. No database access here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, F, Value
from django.db.models.functions import Coalesce, Round

from courses.models import Assignment, Extension, LatePolicy, PenaltyUnit

UNIT = {PenaltyUnit.HOUR: timedelta(hours=1), PenaltyUnit.DAY: timedelta(days=1)}
CENT = Decimal("0.01")


class LateRejected(Exception):
    """The submission arrives after the point where the assignment accepts none."""


@dataclass(frozen=True)
class Lateness:
    is_late: bool
    penalty_percent: Decimal


ON_TIME = Lateness(False, Decimal("0"))


def lateness(assignment: Assignment, submitted_at: datetime, extension: Extension | None = None) -> Lateness:
    """How late ``submitted_at`` is for ``assignment`` (or the student's ``extension``, whose
    deadlines replace the assignment's); raises LateRejected if not accepted."""
    deadline, hard_deadline = (
        (extension.deadline, extension.hard_deadline)
        if extension
        else (assignment.deadline, assignment.hard_deadline)
    )
    if hard_deadline and submitted_at > hard_deadline:
        raise LateRejected("The hard deadline has passed; no more submissions are accepted.")
    if not deadline or submitted_at <= deadline:
        return ON_TIME
    if assignment.late_policy == LatePolicy.REJECT:
        raise LateRejected("The deadline has passed; this assignment does not accept late submissions.")
    if assignment.late_policy == LatePolicy.ACCEPT:
        return Lateness(True, Decimal("0"))
    units = math.ceil((submitted_at - deadline) / UNIT[PenaltyUnit(assignment.late_penalty_unit)])
    penalty = min(
        Decimal(units) * assignment.late_penalty_percent, assignment.late_penalty_cap_percent, Decimal(100)
    )
    return Lateness(True, penalty)


def explain_lateness(
    assignment: Assignment,
    submitted_at: datetime,
    penalty_percent: Decimal,
    extension: Extension | None = None,
) -> str:
    """A sentence for the student: how late, which deadline, the rule, and what it cost."""
    from django.utils.timesince import timesince

    deadline = extension.deadline if extension else assignment.deadline
    if not deadline or submitted_at <= deadline:
        return ""
    whose = "your extended deadline" if extension else "the deadline"
    text = f"Submitted {timesince(deadline, submitted_at)} after {whose}."
    if assignment.late_policy == LatePolicy.PENALTY:
        text += f" {_penalty_rule(assignment)}: here {penalty_percent.normalize():f}%."
    else:
        text += " " + late_rule(assignment)
    return text


def late_rule(assignment: Assignment) -> str:
    """The late policy as one sentence for students (the deadlines themselves are shown apart,
    in the reader's time zone)."""
    if assignment.late_policy == LatePolicy.PENALTY:
        return _penalty_rule(assignment) + "."
    if assignment.late_policy == LatePolicy.ACCEPT:
        return "Late work is accepted without a penalty."
    return "Late work is not accepted."


def _penalty_rule(assignment: Assignment) -> str:
    unit = PenaltyUnit(assignment.late_penalty_unit).label
    return (
        f"Late work loses {Decimal(assignment.late_penalty_percent).normalize():f}% {unit}, at most "
        f"{min(Decimal(assignment.late_penalty_cap_percent), Decimal(100)).normalize():f}%"
    )


def apply_penalty(raw: Decimal, penalty_percent: Decimal) -> Decimal:
    return (raw * (Decimal(100) - penalty_percent) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def final_score(
    raw_score: Decimal | None,
    rubric_points: Decimal | None,
    late_penalty_percent: Decimal | None,
    override_score: Decimal | None,
) -> Decimal | None:
    """What an attempt is worth (None: not graded)."""
    if override_score is not None:
        return override_score
    if raw_score is None:
        return None
    return apply_penalty(raw_score + (rubric_points or Decimal(0)), late_penalty_percent or Decimal(0))


SCORE_FIELD = DecimalField(max_digits=9, decimal_places=2)
# The same rule in SQL. PostgreSQL's round() on numeric rounds half away from zero, as
# ROUND_HALF_UP does for these non-negative scores; the arithmetic is exact in both.
FINAL_SCORE = Coalesce(
    F("override_score"),
    Round(
        (F("raw_score") + F("rubric_points"))
        * (Value(Decimal(100)) - F("late_penalty_percent"))
        / Value(Decimal(100)),
        2,
        output_field=SCORE_FIELD,
    ),
    output_field=SCORE_FIELD,
)
