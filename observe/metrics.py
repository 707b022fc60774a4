"""Every metric of the platform's own, in one module, so names cannot drift between the code,
the alert rules (deploy/prometheus/alerts.yml) and the dashboard (deploy/grafana/grader.json).

Metrics here are per process and multiprocess-safe: with ``PROMETHEUS_MULTIPROC_DIR`` set
(Celery's prefork children, gunicorn's workers) prometheus_client keeps each process's values in
files that the exporter of that host adds up (``observe.exporter``). Facts about shared state
(submissions waiting, queue lengths, the model server's limit and breaker) are not kept here:
they are read from PostgreSQL and Redis when Prometheus scrapes the web (grader/metrics.py).

Call sites stay one line: the helpers below take plain values.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

# Seconds from a student's submit to the grade, and to the hint: a deadline burst stretches
# both from seconds to many minutes.
WAIT_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60)

SUBMIT_TO_GRADED = Histogram(
    "grader_submit_to_graded_seconds",
    "From a student's submit to the first grade of that submission (regrades not counted).",
    buckets=WAIT_BUCKETS,
)
SUBMIT_TO_HINT = Histogram(
    "grader_submit_to_hint_seconds",
    "From a student's submit to the hint stored for it (interactive requests), by hint source.",
    ["source"],
    buckets=WAIT_BUCKETS,
)
GRADING_TASKS = Counter(
    "grader_grading_tasks_total",
    "Grading tasks finished by outcome: graded, skipped (duplicate), infra_error (retried), "
    "rejected (cannot run), not_gradable (retry budget spent).",
    ["outcome"],
)
SUBMISSION_TRANSITIONS = Counter(
    "grader_submission_transitions_total",
    "Submissions moved into a state (queued, running, graded, error, rejected).",
    ["state"],
)
INFRA_FAILURES = Counter(
    "grader_infrastructure_failures_total",
    "Platform failures charged to a submission's retry budget, by who noticed: the task (a "
    "failed container run) or the sweeper (a lost worker).",
    ["source"],
)
GRADING_RETRIES = Counter("grader_grading_retries_total", "Grading tasks sent back for another try.")
SWEEPER_REQUEUED = Counter(
    "grader_sweeper_requeued_total",
    "Work the sweeper put back in line: running (worker lost), queued (message lost), trials.",
    ["kind"],
)
SANDBOX_RUN_SECONDS = Histogram(
    "grader_sandbox_run_seconds",
    "Wall time of one container run (start or warm take, tests, removal), by run status.",
    ["status"],
    buckets=RUN_BUCKETS,
)
SANDBOX_TESTS = Counter(
    "grader_sandbox_test_outcomes_total",
    "Tests run in the sandbox, by outcome (passed, failed, error, timeout...).",
    ["outcome"],
)
POOL_READY = Gauge(
    "grader_sandbox_pool_ready",
    "Pre-started sandbox containers waiting to be used (summed over live worker processes).",
    multiprocess_mode="livesum",
)
HINTS = Counter(
    "grader_feedback_hints_total",
    "Hint requests settled by the dispatcher, by outcome: llm, fallback, deferred (breaker open), retry.",
    ["outcome"],
)
LLM_TOKENS = Counter(
    "grader_llm_tokens_total",
    "Tokens of the model server's answers: prompt, cached (prompt tokens served from vLLM's "
    "prefix cache) and completion.",
    ["kind"],
)
LLM_TTFT = Histogram(
    "grader_llm_time_to_first_token_seconds",
    "Time to the first streamed token of a stored model hint.",
    buckets=TTFT_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "grader_webhook_deliveries_total",
    "Webhook delivery attempts by result: delivered, failed (retried later), gave_up.",
    ["result"],
)
GRADE_PASSBACK_DELIVERIES = Counter(
    "grader_grade_passback_deliveries_total",
    "LTI grade passback (AGS score) deliveries by result: delivered, failed (retried later), gave_up.",
    ["result"],
)


def submission_graded(seconds: float) -> None:
    SUBMIT_TO_GRADED.observe(max(0.0, seconds))


def hint_stored(source: str, seconds: float) -> None:
    SUBMIT_TO_HINT.labels(source).observe(max(0.0, seconds))


def grading_task(outcome: str) -> None:
    GRADING_TASKS.labels(outcome).inc()


def submission_moved(state: str) -> None:
    SUBMISSION_TRANSITIONS.labels(state).inc()


def infrastructure_failure(source: str) -> None:
    INFRA_FAILURES.labels(source).inc()


def llm_usage(prompt: int, cached: int, completion: int, ttft_seconds: float | None = None) -> None:
    LLM_TOKENS.labels("prompt").inc(prompt)
    LLM_TOKENS.labels("cached").inc(cached)
    LLM_TOKENS.labels("completion").inc(completion)
    if ttft_seconds is not None:
        LLM_TTFT.observe(ttft_seconds)


def swept(running: int, queued: int, trials: int) -> None:
    """The sweeper's pass: a running submission it requeues lost its worker (a platform
    failure charged to the submission)."""
    for kind, count in (("running", running), ("queued", queued), ("trials", trials)):
        SWEEPER_REQUEUED.labels(kind).inc(count)
    INFRA_FAILURES.labels("sweeper").inc(running)


def webhook_delivery(result: str) -> None:
    WEBHOOK_DELIVERIES.labels(result).inc()


def grade_passback_delivery(result: str) -> None:
    """For the LTI grade passback: call once per delivery attempt with ``delivered``,
    ``failed`` (will be retried) or ``gave_up`` (retries spent)."""
    GRADE_PASSBACK_DELIVERIES.labels(result).inc()


R = TypeVar("R")


def timed_sandbox_run(run: Callable[..., R]) -> Callable[..., R]:
    """Decorates the one function that runs every container: its wall time by the result's
    status, and the outcome of each test it ran."""

    @functools.wraps(run)
    def timed(*args: Any, **kwargs: Any) -> R:
        started = time.monotonic()
        result = run(*args, **kwargs)
        status = getattr(result, "status", None)
        SANDBOX_RUN_SECONDS.labels(str(getattr(status, "value", status))).observe(time.monotonic() - started)
        for test in getattr(result, "tests", ()):
            SANDBOX_TESTS.labels(str(test.outcome.value)).inc()
        return result

    return timed


# Every known series exists from the start, at 0: a rate() or an alert over a series that
# appears only with its first event misses that event (Prometheus' instrumentation advice).
_KNOWN: list[tuple[Any, tuple[str, ...]]] = [
    (SUBMIT_TO_HINT, ("llm", "fallback", "checked")),
    (GRADING_TASKS, ("graded", "skipped", "infra_error", "rejected", "not_gradable")),
    (SUBMISSION_TRANSITIONS, ("queued", "running", "graded", "error", "rejected")),
    (INFRA_FAILURES, ("task", "sweeper")),
    (SWEEPER_REQUEUED, ("running", "queued", "trials")),
    (SANDBOX_RUN_SECONDS, ("ok", "infra_error")),
    (SANDBOX_TESTS, ("passed", "failed")),
    (HINTS, ("llm", "fallback", "retry", "deferred")),
    (LLM_TOKENS, ("prompt", "cached", "completion")),
    (WEBHOOK_DELIVERIES, ("delivered", "failed", "gave_up")),
    (GRADE_PASSBACK_DELIVERIES, ("delivered", "failed", "gave_up")),
]
for _metric, _values in _KNOWN:
    for _value in _values:
        _metric.labels(_value)


def process_started() -> None:
    """In a freshly forked child (Celery's pool): writes this process's series at once, so a
    host's /metrics lists every metric before the first task."""
    POOL_READY.inc(0)
