"""Per-assignment analytics (computed in a handful of aggregate queries) and small SVG bar charts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from courses.models import Role
from feedback.models import Feedback, Source
from feedback.services import model_usage
from grading.models import Status, Submission, TestResult


@dataclass
class Analytics:
    students: int
    submissions: int
    distribution: list[tuple[str, int]]  # score band -> students (counted attempt)
    pass_rates: list[tuple[str, float]]  # test -> share of graded submissions passing it
    failing_tests: list[tuple[str, int]]
    exceptions: list[tuple[str, int]]
    ratings: dict[str, int]
    usage: dict  # model hints: count, token sums, mean latency and time to first token
    tokens: list[tuple[str, int]]  # prompt / from the prefix cache / completion
    latency: list[tuple[str, int]]  # model hints per latency band


def students_work(assignment):
    """The assignment's submissions by its course's students: staff's test submissions are not
    part of the class's picture (every analytics figure starts here)."""
    students = assignment.course.memberships.filter(role=Role.STUDENT).values("user_id")
    return Submission.objects.filter(assignment=assignment, student__in=students)


def assignment_analytics(assignment) -> Analytics:
    mine = students_work(assignment)
    graded = mine.filter(status=Status.GRADED).count()
    finals = list(mine.counted().only("id", "student_id", "assignment_id", "max_score"))
    results = TestResult.objects.filter(submission__in=mine, submission__status=Status.GRADED)
    per_test = (
        results.values("name", "order")
        .annotate(total=Count("id"), passed=Count("id", filter=Q(outcome="passed")))
        .order_by("order", "name")
    )
    errors = Counter(r["error"]["type"] for r in results.exclude(error=None).values("error") if r["error"])
    hints = Feedback.objects.filter(submission__assignment=assignment)
    model_hints = hints.filter(source=Source.LLM)
    usage = model_usage(hints)
    return Analytics(
        students=len(finals),
        submissions=graded,
        distribution=_bands(finals),
        pass_rates=[(t["name"], t["passed"] / t["total"]) for t in per_test if t["total"]],
        failing_tests=[
            (t["name"], t["total"] - t["passed"])
            for t in sorted(per_test, key=lambda t: t["passed"] - t["total"])[:5]
            if t["total"] > t["passed"]
        ],
        exceptions=errors.most_common(5),
        ratings={
            "helpful": hints.filter(rating=1).count(),
            "not helpful": hints.filter(rating=-1).count(),
            "unrated": hints.filter(rating=None).count(),
        },
        usage=usage,
        tokens=[
            ("prompt", usage["prompt"]),
            ("from the prefix cache", usage["cached"]),
            ("completion", usage["completion"]),
        ]
        if usage["hints"]
        else [],
        latency=_latency_bands(
            model_hints.exclude(latency_seconds=None).values_list("latency_seconds", flat=True)
        ),
    )


LATENCY_BANDS = [(1, "under 1 s"), (2, "1–2 s"), (5, "2–5 s"), (10, "5–10 s"), (float("inf"), "10 s or more")]


def _latency_bands(seconds) -> list[tuple[str, int]]:
    counts = Counter(next(label for limit, label in LATENCY_BANDS if s < limit) for s in seconds)
    return [(label, counts[label]) for _, label in LATENCY_BANDS] if counts else []


def _bands(finals) -> list[tuple[str, int]]:
    bands = ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"]
    counts = dict.fromkeys(bands, 0)
    for sub in finals:
        if sub.final is None or not sub.max_score:
            continue
        share = min(Decimal(1), sub.final / sub.max_score)
        counts[bands[min(4, int(share * 5))]] += 1
    return list(counts.items())


def bar_chart(
    title: str, rows: list[tuple[str, float]], unit: str = "", maximum: float | None = None
) -> SafeString:
    """A horizontal bar chart as inline SVG: role=img with a label, a <title>, and the numbers as text."""
    if not rows:
        return mark_safe(f'<p class="muted">{escape(title)}: no data yet.</p>')
    top = maximum or max(v for _, v in rows) or 1
    height, label_w, bar_w = 24, 180, 260
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 70}" '
        f'height="{height * len(rows) + 8}" viewBox="0 0 {label_w + bar_w + 70} {height * len(rows) + 8}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = i * height + 4
        width = max(1, round(bar_w * value / top)) if value else 0
        shown = f"{value:.0%}" if unit == "%" else f"{value:g}"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(str(label)[:28])}</text>',
            f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{height - 8}" fill="#0a58ca"/>',
            f'<text x="{label_w + width + 6}" y="{y + 15}">{shown}</text>',
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above
