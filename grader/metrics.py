"""The web's /metrics: what this host's processes measured (observe.metrics, django-prometheus's
requests and queries) plus facts about shared state, read from PostgreSQL and Redis when
Prometheus scrapes (never kept in a process, so every web instance reports the same numbers:
aggregate them with ``max``, not ``sum``).

Scrape-time reads stay cheap on big tables: only unfinished work is counted (queued and
running submissions, open hint requests), on indexed columns; finished work is counted by
``grader_submission_transitions_total`` where it happens.

Access: from ``METRICS_ALLOWED_NETWORKS`` (default: loopback only) when no proxy relayed the
request, or with ``Authorization: Bearer $METRICS_TOKEN`` when a token is set. Anything else
gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterator

from celery import current_app
from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from feedback.dispatcher import controls, replica_urls
from feedback.models import FeedbackRequest, Priority, RequestStatus
from grading.models import Status, Submission
from observe import exporter

log = logging.getLogger(__name__)

QUEUES = ("grading", "regrading", "feedback", "default")
UNFINISHED = (Status.QUEUED, Status.RUNNING)
OPEN_REQUESTS = (RequestStatus.PENDING, RequestStatus.IN_PROGRESS, RequestStatus.CHECKING)


def _submissions() -> Iterator[Metric]:
    gauge = GaugeMetricFamily(
        "grader_submissions", "Submissions waiting or being graded now, by state.", labels=["state"]
    )
    counts = dict(
        Submission.objects.filter(status__in=UNFINISHED).values_list("status").annotate(n=Count("pk"))
    )
    for state in UNFINISHED:
        gauge.add_metric([state.value], counts.get(state.value, 0))
    yield gauge
    oldest = Submission.objects.filter(status=Status.QUEUED).aggregate(t=Min("status_changed_at"))["t"]
    yield GaugeMetricFamily(
        "grader_oldest_queued_submission_age_seconds",
        "How long the longest-waiting queued submission has waited (0: none waiting).",
        value=max(0.0, time.time() - oldest.timestamp()) if oldest else 0.0,
    )


def _queues() -> Iterator[Metric]:
    """Messages waiting in each Redis list Celery keeps for a queue and priority (the lists
    kombu's Redis transport reads, named as it names them)."""
    gauge = GaugeMetricFamily(
        "grader_queue_depth",
        "Messages waiting in the broker, by queue and priority.",
        labels=["queue", "priority"],
    )
    with current_app.connection_for_read() as conn:
        channel = conn.default_channel
        keys = [(q, p, channel._q_for_pri(q, p)) for q in QUEUES for p in channel.priority_steps]  # type: ignore[attr-defined]
        with channel.conn_or_acquire() as client, client.pipeline() as pipe:  # type: ignore[attr-defined]
            for _, _, key in keys:
                pipe.llen(key)
            sizes = pipe.execute()
    for (queue, priority, _), size in zip(keys, sizes, strict=True):
        gauge.add_metric([queue, str(priority)], size)
    yield gauge


def _feedback() -> Iterator[Metric]:
    backlog = GaugeMetricFamily(
        "grader_feedback_backlog",
        "Hint requests not settled yet, by status and priority (0 interactive, 10 bulk).",
        labels=["status", "priority"],
    )
    counts = {
        (status, priority): n
        for status, priority, n in FeedbackRequest.objects.filter(status__in=OPEN_REQUESTS)
        .values_list("status", "priority")
        .annotate(n=Count("pk"))
    }
    for status in OPEN_REQUESTS:
        for priority in Priority:
            backlog.add_metric(
                [status.value, str(priority.value)], counts.get((status.value, priority.value), 0)
            )
    yield backlog
    limit = GaugeMetricFamily(
        "grader_llm_in_flight_limit",
        "The adaptive limit of requests in flight, per model server.",
        labels=["server"],
    )
    in_flight = GaugeMetricFamily(
        "grader_llm_in_flight", "Requests in flight to each model server.", labels=["server"]
    )
    breaker = GaugeMetricFamily(
        "grader_llm_breaker_open",
        "1 while the circuit breaker of a model server is open (automatic hints are served).",
        labels=["server"],
    )
    for url in replica_urls():
        limiter, circuit = controls(url)
        limit.add_metric([url], limiter.limit())
        in_flight.add_metric([url], limiter.in_flight())
        breaker.add_metric([url], 1.0 if circuit.is_open() else 0.0)
    yield from (limit, in_flight, breaker)


PARTS: dict[str, Callable[[], Iterator[Metric]]] = {
    "submissions": _submissions,
    "queues": _queues,
    "feedback": _feedback,
}


class PlatformCollector:
    """Reads shared state at scrape time. A part whose store does not answer is left out and
    reported in ``grader_scrape_error`` (the scrape itself still succeeds)."""

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "grader_scrape_error", "1 if a part of the platform's state could not be read.", labels=["part"]
        )
        for name, part in PARTS.items():
            try:
                metrics = list(part())
            except Exception:  # noqa: BLE001 - a broken store must not hide the other parts
                log.warning("metrics: could not read %s", name, exc_info=True)
                errors.add_metric([name], 1.0)
                continue
            errors.add_metric([name], 0.0)
            yield from metrics
        yield errors


PLATFORM = CollectorRegistry(auto_describe=False)
PLATFORM.register(PlatformCollector())


# Headers a reverse proxy adds to what it relays; Prometheus scraping directly sends none.
RELAYED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "").encode()
        if hmac.compare_digest(sent, f"Bearer {token}".encode()):
            return True
    if any(request.META.get(header) for header in RELAYED):
        # A proxy relayed it: REMOTE_ADDR is the proxy's (often loopback, allowed), not the client's.
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("metrics are not served to this client\n", status=403, content_type="text/plain")
    return HttpResponse(exporter.render(exporter.registry(), PLATFORM), content_type=CONTENT_TYPE_LATEST)
