"""Pure scoring rules: late penalties and scores. No database access."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from courses.models import LatePolicy, PenaltyUnit

UNIT = {PenaltyUnit.HOUR: timedelta(hours=1), PenaltyUnit.DAY: timedelta(days=1)}
CENT = Decimal("0.01")


class LateRejected(Exception):
    """The submission arrives after the point where the assignment accepts none."""


@dataclass(frozen=True)
class Lateness:
    is_late: bool
    penalty_percent: Decimal


ON_TIME = Lateness(False, Decimal("0"))


def lateness(assignment, submitted_at: datetime, extension=None) -> Lateness:
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


def explain_lateness(assignment, submitted_at: datetime, penalty_percent: Decimal, extension=None) -> str:
    """A sentence for the student: how late, which deadline, the rule, and what it cost."""
    from django.utils.timesince import timesince

    deadline = extension.deadline if extension else assignment.deadline
    if not deadline or submitted_at <= deadline:
        return ""
    whose = "your extended deadline" if extension else "the deadline"
    text = f"Submitted {timesince(deadline, submitted_at)} after {whose}."
    if assignment.late_policy == LatePolicy.PENALTY:
        unit = PenaltyUnit(assignment.late_penalty_unit).label
        text += (
            f" Late work loses {assignment.late_penalty_percent.normalize():f}% {unit}, at most "
            f"{assignment.late_penalty_cap_percent.normalize():f}%: here {penalty_percent.normalize():f}%."
        )
    else:
        text += " Late work is accepted without a penalty."
    return text


def apply_penalty(raw: Decimal, penalty_percent: Decimal) -> Decimal:
    return (raw * (Decimal(100) - penalty_percent) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
