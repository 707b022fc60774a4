"""The feedback dispatcher: pending requests -> batches -> the model server -> Feedback rows.

A batch is claimed atomically (SELECT ... FOR UPDATE SKIP LOCKED, so several workers never
take the same request), interactive requests before bulk ones, then ordered by assignment
so each assignment's shared prompt prefix stays warm in vLLM's cache. Each request holds a
lease; a worker that dies mid-batch leaves leases that expire, and the requests go back to
pending. Requests run concurrently under the Redis-wide adaptive limit and circuit breaker
(feedback/control.py). Per outcome:
  - the model answered a valid, guarded hint: Feedback(source=llm), done;
  - the answer was invalid twice or broke the guard: the fallback hint, done;
  - the server was overloaded or down (429, 5xx, timeout, connection, an error inside the
    stream, a stalled stream): the fallback hint now, so the student is not left waiting, and
    the request goes back to pending with exponential backoff and jitter; a later model hint
    replaces the fallback. After LLM_MAX_TRIES the fallback stays;
  - the breaker was open, or the server is misconfigured (it does not serve LLM_MODEL, or
    answers 401/403/404): the fallback hint now, and the request waits without spending a try
    until the server works again; operators see the problem (ServerStatus, logs, llm_check);
  - the server refused this one request (400: a prompt it would not take) or the prompt cannot
    be fitted to its context window: the fallback stays; operators see the refusal.
Every batch starts by asking the server what it serves (``/v1/models``): the model's name is
checked and vLLM's ``max_model_len`` sizes the prompts (LLM_MAX_MODEL_LEN overrides it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import timedelta
from decimal import Decimal

import aiohttp
import openai
import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from courses.models import Assignment
from feedback import fallback
from feedback.control import AdaptiveLimiter, CircuitBreaker, ServerStatus
from feedback.llm import (
    ContextWindow,
    FailingTest,
    GuardRejected,
    HintAnswer,
    HintRequest,
    HintResult,
    InvalidAnswer,
    PromptTooLong,
    RubricSpec,
    ServerInfo,
    StreamStalled,
    critic_scores,
    generate_hint,
    propose_repair,
    rank,
    rubric_scores,
    server_info,
    server_root,
    vllm_token_counter,
)
from feedback.models import (
    Feedback,
    FeedbackRequest,
    Priority,
    RequestStatus,
    RubricScore,
    RubricStatus,
    Source,
)
from feedback.services import recount_rubric
from grading import live
from grading.code_reading import findings_for
from grading.disclosure import line_in_file, students_view
from grading.models import Submission, TrialRun, TrialStatus
from grading.services import request_hint_check
from observe import metrics
from sandbox import Outcome as TestOutcome

log = logging.getLogger(__name__)
OVERLOAD = (
    StreamStalled,
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
)
CHECK_TIMEOUT_SECONDS = 5.0
# Server-wide misconfiguration: no request can succeed until an operator fixes a setting.
MISCONFIGURED = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


@dataclass
class Outcome:
    kind: str  # "llm", "fallback" (final), "retry" (a try spent) or "deferred" (no call was made)
    result: HintResult | None = None
    error: str = ""
    # Sandbox-validated hints: the model's repair guided by each candidate (result.answers), or None.
    repairs: list[str | None] = field(default_factory=list)


def replica_urls() -> list[str]:
    """The model servers: LLM_BASE_URLS (several vLLM replicas serving the same model), else
    LLM_BASE_URL; empty when model hints are off."""
    return list(settings.LLM_BASE_URLS) or ([settings.LLM_BASE_URL] if settings.LLM_BASE_URL else [])


def server_key(url: str | None = None) -> str:
    """Each server's own keys in Redis: its limit, its breaker, its status."""
    # One server, one set of keys, however its URL is written ("…/v1" or "…/v1/").
    normal = (url or settings.LLM_BASE_URL).strip().rstrip("/")
    return "llm:" + hashlib.sha256(normal.encode()).hexdigest()[:16]


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.LLM_REDIS_URL or settings.CELERY_BROKER_URL)


def controls(url: str | None = None) -> tuple[AdaptiveLimiter, CircuitBreaker]:
    client = _redis()
    key = server_key(url)
    limiter = AdaptiveLimiter(client, key, settings.LLM_MIN_IN_FLIGHT, settings.LLM_MAX_IN_FLIGHT)
    breaker = CircuitBreaker(
        client, key + ":breaker", settings.LLM_BREAKER_THRESHOLD, settings.LLM_BREAKER_COOLDOWN_SECONDS
    )
    return limiter, breaker


def server_status(url: str | None = None) -> ServerStatus:
    return ServerStatus(_redis(), server_key(url))


def model_server_problem() -> str:
    """Why no model hint can be served now (every server has a configuration problem), or ""."""
    urls = replica_urls()
    try:
        problems = [server_status(url).read().get("problem", "") for url in urls]
    except redis.RedisError:
        return ""  # the dispatcher cannot run either; the broker's own checks say so
    return "; ".join(problems) if urls and all(problems) else ""


def _client(base_url: str = "") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url or settings.LLM_BASE_URL,
        api_key=settings.LLM_API_KEY,
        max_retries=0,
        timeout=settings.LLM_TIMEOUT_SECONDS,
    )


async def check_server(
    client: openai.AsyncOpenAI, status: ServerStatus, url: str | None = None
) -> ServerInfo | None:
    """Ask the server what it serves; record (and log) a model it does not serve. None when the
    server cannot be asked (down: the calls themselves will find out and the breaker acts)."""
    url = url or settings.LLM_BASE_URL
    try:
        # A short timeout: a server that does not answer this is skipped for the batch, instead
        # of every request waiting out the full read timeout on it.
        info = await server_info(client.with_options(timeout=CHECK_TIMEOUT_SECONDS), settings.LLM_MODEL)
    except MISCONFIGURED as exc:
        problem = misconfigured(url, exc)
        log.error("model server misconfigured: %s", problem)
        status.config_problem(problem)
        return ServerInfo([], None)
    except openai.APIError as exc:
        status.unreachable(f"{url} does not answer: {type(exc).__name__}")
        return None
    problem = ""
    if not info.serves(settings.LLM_MODEL):
        problem = (
            f"the server at {url} does not serve LLM_MODEL={settings.LLM_MODEL!r}"
            f" (it serves: {', '.join(info.models) or 'nothing'})"
        )
        log.error("model server misconfigured: %s", problem)
    status.checked(info.models, info.max_model_len, problem)
    return info


def check_servers_now() -> dict[str, dict[str, str]]:
    """One check of every server, for start-up and ``manage.py llm_check``: each one's status."""

    async def run() -> None:
        for url in replica_urls():
            status = server_status(url)
            async with _client(url) as client:
                await check_server(client, status, url)

    asyncio.run(run())
    return {url: server_status(url).read() for url in replica_urls()}


def context_window(client: openai.AsyncOpenAI, info: ServerInfo | None) -> ContextWindow | None:
    length = settings.LLM_MAX_MODEL_LEN or (info.max_model_len if info else None)
    if not length:
        return None  # unknown: prompts go as they are (a refusal is reported to operators)
    return ContextWindow(length, vllm_token_counter(client, settings.LLM_MODEL))


@dataclass
class Replica:
    """One model server as a batch sees it: its client, its own limit, breaker and status, and
    what it said it serves."""

    url: str
    client: openai.AsyncOpenAI
    limiter: AdaptiveLimiter
    breaker: CircuitBreaker
    status: ServerStatus
    info: ServerInfo | None = None
    context: ContextWindow | None = None

    @classmethod
    def open(cls, url: str) -> Replica:
        limiter, breaker = controls(url)
        return cls(url, _client(url), limiter, breaker, server_status(url))

    @property
    def usable(self) -> bool:
        """It answered the check, and serves the model: worth sending requests to this batch."""
        return self.info is not None and self.info.serves(settings.LLM_MODEL)


def rendezvous_order(key: str, urls: list[str]) -> list[int]:
    """Rendezvous (highest random weight) hashing: every request of one assignment prefers the
    same server, so its shared prompt prefix stays in that server's cache; when a server leaves
    or is down, only its assignments move, each to its own next choice."""
    weight = [hashlib.sha256(f"{key}|{url}".encode()).digest() for url in urls]
    return sorted(range(len(urls)), key=lambda i: weight[i], reverse=True)


# -- claiming -------------------------------------------------------------------------------
def release_expired_leases() -> int:
    """Requests whose worker died mid-batch go back to pending."""
    return FeedbackRequest.objects.filter(
        status=RequestStatus.IN_PROGRESS, lease_until__lt=timezone.now()
    ).update(status=RequestStatus.PENDING, lease_until=None)


def claim_batch(size: int) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            FeedbackRequest.objects.select_for_update(skip_locked=True)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now), status=RequestStatus.PENDING)
            .order_by("priority", "created_at")
            .values_list("pk", flat=True)[:size]
        )
        FeedbackRequest.objects.filter(pk__in=ids).update(
            status=RequestStatus.IN_PROGRESS,
            lease_until=now + timedelta(seconds=settings.FEEDBACK_LEASE_SECONDS),
            tries=F("tries") + 1,
        )
    return ids


# -- what the model sees --------------------------------------------------------------------
def hint_request(submission: Submission) -> HintRequest:
    results = submission.results.values(
        "name", "visible", "outcome", "test_input", "expected", "actual", "error"
    )
    earlier = Submission.objects.filter(
        assignment=submission.assignment, student=submission.student_id, attempt__lt=submission.attempt
    ).order_by("-attempt")
    previous = earlier.first()
    previous_hints = list(
        Feedback.objects.filter(submission__in=earlier[:3])
        .order_by("created_at")
        .values_list("hint", flat=True)
    )
    return request_for(
        submission.assignment,
        submission.files,
        results,
        attempt=submission.attempt,
        previous_files=previous.files if previous else None,
        previous_hints=previous_hints,
        findings=submission.findings,
    )


def request_for(
    assignment: Assignment,
    files: dict[str, str],
    results: Iterable[Mapping],
    attempt: int = 1,
    previous_files: dict[str, str] | None = None,
    previous_hints: list[str] | None = None,
    findings: list[dict] | None = None,
) -> HintRequest:
    """What the model sees of one graded program: only what the student may see of hidden tests
    (grading.disclosure), the assignment's shared context, and the attempt's history."""
    return HintRequest(
        assignment_key=f"{assignment.course.code}/{assignment.slug}",
        statement=assignment.statement,
        visible_tests=[f"{t.name}: {t.input_text}".strip() for t in assignment.tests.filter(visible=True)],
        show_hidden_details=assignment.show_hidden_details,
        files=files,
        failing=[
            FailingTest(
                r["name"], r["visible"], r["outcome"], r["test_input"], r["expected"], r["actual"], r["error"]
            )
            for r in students_view(results, assignment.show_hidden_details)
            if r["outcome"] != "passed"
        ],
        attempt=attempt,
        previous_files=previous_files,
        previous_hints=previous_hints or [],
        reference_files=assignment.reference_files,
        validate_with_sandbox=assignment.validate_hints,
        main_file=assignment.main_file,
        findings=[f["message"] for f in findings if f.get("message")]
        if findings is not None
        else [f.message for f in findings_for(assignment, files)],
        candidates=assignment.hint_candidates,
        critic=assignment.hint_critic,
        rubric=[
            RubricSpec(i.name, i.description, float(i.max_points)) for i in assignment.rubric_items.all()
        ],
    )


# -- running a batch --------------------------------------------------------------------------
def dispatch_once(size: int | None = None) -> int:
    """Claim one batch and see it through. Returns how many requests it handled."""
    ids = claim_batch(size or settings.FEEDBACK_BATCH_SIZE)
    if not ids:
        return 0
    requests = sorted(
        FeedbackRequest.objects.filter(pk__in=ids).select_related("submission__assignment__course"),
        key=lambda r: (r.priority, r.submission.assignment_id, r.created_at),
    )
    inputs, outcomes = [], []
    for request in requests:
        if request.submission.assignment.llm_hints and replica_urls():
            hint = hint_request(request.submission)
            hint.priority = request.priority if settings.LLM_PRIORITY else None
            inputs.append((request, hint))
        else:
            outcomes.append((request, Outcome("fallback", error="model hints are off")))
    if inputs:
        results = asyncio.run(run_all([hr for _, hr in inputs]))
        outcomes += [(r, o) for (r, _), o in zip(inputs, results, strict=True)]
    for request, outcome in outcomes:
        if needs_check(request.submission, outcome):
            hold_for_check(request, outcome)
        else:
            store(request, outcome)
    return len(ids)


async def run_all(requests: list[HintRequest]) -> list[Outcome]:
    replicas = [Replica.open(url) for url in replica_urls()]
    critic = _client(settings.LLM_CRITIC_BASE_URL) if settings.LLM_CRITIC_BASE_URL else None
    try:
        infos = await asyncio.gather(*(check_server(r.client, r.status, r.url) for r in replicas))
        for replica, info in zip(replicas, infos, strict=True):
            replica.info, replica.context = info, context_window(replica.client, info)
        if not any(r.usable for r in replicas):
            # Down, starting or misconfigured everywhere: no call is made, so no try is spent;
            # the requests wait (about one breaker cooldown) and are asked again.
            problem = model_server_problem()
            error = f"configuration: {problem}" if problem else "no model server answers"
            return [Outcome("deferred", error=error[:500]) for _ in requests]
        watchers = [asyncio.create_task(watch_server_queue(r.client, r.limiter)) for r in replicas]
        try:
            results = await asyncio.gather(
                *(route(replicas, r, critic) for r in requests), return_exceptions=True
            )
        finally:
            for watcher in watchers:
                watcher.cancel()
        return [_outcome_of(result) for result in results]
    finally:
        for replica in replicas:
            await replica.client.close()
        if critic is not None:
            await critic.close()


async def route(replicas: list[Replica], request: HintRequest, critic=None) -> Outcome:
    """The request's preferred server (rendezvous order of its assignment), and the next ones
    when it is down, overloaded or refusing: failover within the batch. The first answer wins;
    if none answered, a failed call spends a try ("retry"), and only refusals without any call
    spend none ("deferred")."""
    urls = [r.url for r in replicas]
    order = [replicas[i] for i in rendezvous_order(request.assignment_key, urls) if replicas[i].usable]
    outcomes = []
    for replica in order:
        outcome = await run_one(
            replica.client,
            replica.limiter,
            replica.breaker,
            request,
            replica.context,
            replica.status,
            critic,
            replica.url,
        )
        if outcome.kind not in ("retry", "deferred"):
            return outcome
        outcomes.append(outcome)
    retried = [o for o in outcomes if o.kind == "retry"]
    if retried:
        return retried[0]
    return outcomes[0] if outcomes else Outcome("deferred", error="no server serves the model")


def _outcome_of(result: Outcome | BaseException) -> Outcome:
    """One request's unexpected failure is that request's retry, never the whole batch's loss
    (its other hints are stored; nothing waits for a lease)."""
    if isinstance(result, Outcome):
        return result
    if not isinstance(result, Exception):  # cancellation, interpreter exit: not ours to swallow
        raise result
    log.error("hint request failed unexpectedly", exc_info=result)
    return Outcome("retry", error=f"unexpected {type(result).__name__}: {result}"[:500])


async def run_one(
    client,
    limiter: AdaptiveLimiter,
    breaker: CircuitBreaker,
    request: HintRequest,
    context: ContextWindow | None = None,
    status: ServerStatus | None = None,
    critic_client: openai.AsyncOpenAI | None = None,
    url: str = "",
) -> Outcome:
    url = url or str(client.base_url)
    if not breaker.allow():
        # No call was made: this costs the request no try (else an outage would use them all up
        # and leave the automatic hint for good once the server is back).
        return Outcome("deferred", error=f"{url} is unavailable (circuit open)")
    try:
        lease = await limiter.acquire()
    except TimeoutError:
        return Outcome("deferred", error=f"no free slot for {url}")
    result: HintResult | None = None
    try:
        result = await ask_for_hint(client, request, context)
        if request.critic and len(result.answers) > 1:
            await _rank_by_critic(critic_client or client, request, result)
        repairs = await _repairs(client, request, result, context) if request.validate_with_sandbox else []
    except OVERLOAD as exc:
        limiter.on_overload()
        breaker.record_failure()
        return Outcome("retry", result=result, error=f"{type(exc).__name__}: {exc}"[:500])
    except (InvalidAnswer, GuardRejected) as exc:
        limiter.on_success()  # the server answered in time: the limit may grow
        breaker.record_success()  # the server works; this answer is unusable
        return Outcome("fallback", result=exc.spent, error=f"{type(exc).__name__}: {exc}"[:500])
    except PromptTooLong as exc:
        return Outcome("fallback", error=f"PromptTooLong: {exc}"[:500])
    except MISCONFIGURED as exc:
        # Not the server's health (the breaker stays out of it): a setting to fix.
        problem = misconfigured(url, exc)
        log.error("model server misconfigured: %s", problem)
        if status:
            status.config_problem(problem)
        return Outcome("deferred", error=f"configuration: {problem}"[:500])
    except openai.APIStatusError as exc:
        breaker.record_success()  # the server works; it refused this request
        log.error("%s refused a hint request: %s %s", url, exc.status_code, exc.message)
        if status:
            status.refused(f"{exc.status_code}: {exc.message}")
        return Outcome("fallback", error=f"{type(exc).__name__}: {exc}"[:500])
    except openai.APIError as exc:
        # An error event inside a 200 stream: the engine failed mid-answer. A server failure.
        breaker.record_failure()
        return Outcome("retry", result=result, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        limiter.release(lease)
    limiter.on_success()
    breaker.record_success()
    if status:
        status.answered()
    return Outcome("llm", result, repairs=repairs)


async def ask_for_hint(
    client: openai.AsyncOpenAI, request: HintRequest, context: ContextWindow | None
) -> HintResult:
    """The platform's answer policy for one hint (the settings' token budgets and stall bound):
    the dispatcher, hint_eval and the benchmark all ask this way."""
    return await generate_hint(
        client,
        settings.LLM_MODEL,
        request,
        max_tokens=settings.LLM_ANSWER_TOKENS,
        stall_seconds=settings.LLM_STALL_SECONDS,
        context=context,
        max_answer_tokens=max(settings.LLM_ANSWER_TOKENS, settings.LLM_MAX_ANSWER_TOKENS),
    )


def misconfigured(url: str, exc: openai.APIStatusError) -> str:
    """What an operator must fix, naming the server that answered."""
    return f"{url} answered {exc.status_code}: {exc.message}"[:500]


async def _repairs(
    client: openai.AsyncOpenAI, request: HintRequest, result: HintResult, context: ContextWindow | None
) -> list[str | None]:
    """The model's repair guided by each candidate, side by side. A repair that fails is no
    check for that candidate, never the loss of the hints (they are paid for)."""
    done = await asyncio.gather(
        *(
            propose_repair(client, settings.LLM_MODEL, request, answer.text(), result, context)
            for answer in result.answers
        ),
        return_exceptions=True,
    )
    repairs: list[str | None] = []
    for item in done:
        if isinstance(item, BaseException):
            if not isinstance(item, Exception):
                raise item
            log.warning("a repair for a hint check failed: %s", item)
            repairs.append(None)
        else:
            repairs.append(item)
    return repairs


async def _rank_by_critic(client: openai.AsyncOpenAI, request: HintRequest, result: HintResult) -> None:
    """Best first by the critic's scores. A critic that fails or answers out of shape changes
    nothing: the hint never waits on it."""
    try:
        scores = await critic_scores(
            client, settings.LLM_CRITIC_MODEL or settings.LLM_MODEL, request, result.answers, result
        )
    except openai.APIError as exc:
        log.warning("the critic could not rank hint candidates: %s", exc)
        return
    result.answers = rank(result.answers, scores)
    result.answer = result.answers[0]


async def watch_server_queue(client, limiter: AdaptiveLimiter, every: float = 1.0) -> None:
    """Read vLLM's /metrics while a batch runs; its own queue growing means we send too many."""
    url = server_root(client) + "/metrics"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as http:
        while True:
            await asyncio.sleep(every)
            await _observe(http, url, limiter)


async def _observe(http, url: str, limiter: AdaptiveLimiter) -> None:
    try:
        async with http.get(url) as response:
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return  # metrics are advisory
    waiting = requests_waiting(text)
    if waiting is not None:
        limiter.observe_waiting(waiting)


def requests_waiting(metrics: str) -> int | None:
    """``vllm:num_requests_waiting`` summed over its series (one per engine), or None."""
    values = re.findall(r"^vllm:num_requests_waiting(?:\{[^}]*\})? ([0-9.e+-]+)$", metrics, re.M)
    return int(sum(float(v) for v in values)) if values else None


# -- sandbox-checked hints ---------------------------------------------------------------------
# For assignments that ask for it, a model hint is shown only if the model's repair, guided by
# the hint alone, passes more tests than the student's code did. The repair runs as a trial
# run on the grading queue (grading.services.request_hint_check); meanwhile the student sees
# the automatic hint, and the model's answer waits on the request (status "checking").
NOT_HELPFUL = "the hint did not lead a repair to pass more tests"


def needs_check(submission: Submission, outcome: Outcome) -> bool:
    return outcome.kind == "llm" and submission.assignment.validate_hints


def hold_for_check(request: FeedbackRequest, outcome: Outcome) -> None:
    """Queue one trial run per candidate that came with a repair; the automatic hint shows
    meanwhile. ``check_finished`` decides once every trial has ended."""
    submission = request.submission
    result = outcome.result
    assert result is not None
    with transaction.atomic():
        if not still_ours(request):
            return
        if not Feedback.objects.filter(submission=submission).exists():
            _store_fallback(submission)
        answers = result.answers or [result.answer]
        checked = [(a, code) for a, code in zip(answers, outcome.repairs, strict=False) if code]
        if not checked:
            _finish(request, "the model proposed no repair to check its hint with")
            _record_spent(submission, result)
            return
        main = submission.assignment.main_file
        options = [
            {
                "answer": answer.model_dump(mode="json"),
                "trial": request_hint_check(submission, {**submission.files, main: code}).pk,
            }
            for answer, code in checked
        ]
        FeedbackRequest.objects.filter(pk=request.pk).update(
            status=RequestStatus.CHECKING,
            lease_until=None,
            trial_id=options[0]["trial"],
            candidate={**_candidate(result), "options": options},
        )


def check_finished(trial: TrialRun) -> None:
    """One of the hint checks' trial runs ended. Once all of the request's have, decide."""
    with transaction.atomic():
        request = (
            FeedbackRequest.objects.select_for_update()
            .select_related("submission__assignment")
            .filter(submission_id=trial.submission_id, status=RequestStatus.CHECKING)
            .first()
        )
        if request is None:  # already decided (a duplicate announcement), or dropped by a regrade
            return
        if trial.pk in {o["trial"] for o in _options(request)}:
            _decide(request, wait_for_all=True)


def decide_stale_checks() -> int:
    """Hint checks still waiting after FEEDBACK_CHECK_SECONDS (a trial lost, or stuck behind a
    long queue) are decided with the trials that did end: the student is not left waiting on a
    "checking" status for good. Returns how many were decided."""
    cutoff = timezone.now() - timedelta(seconds=settings.FEEDBACK_CHECK_SECONDS)
    decided = 0
    for pk in FeedbackRequest.objects.filter(
        status=RequestStatus.CHECKING, updated_at__lt=cutoff
    ).values_list("pk", flat=True):
        with transaction.atomic():
            request = (
                FeedbackRequest.objects.select_for_update(skip_locked=True)
                .select_related("submission__assignment")
                .filter(pk=pk, status=RequestStatus.CHECKING)
                .first()
            )
            if request is not None:
                _decide(request, wait_for_all=False)
                decided += 1
    return decided


def _decide(request: FeedbackRequest, wait_for_all: bool) -> None:
    """Inside the caller's transaction, the request locked: show the candidate whose repair
    passed the most tests, if more than the student's code did (ties go to the better-ranked
    candidate), else keep the automatic hint. With ``wait_for_all``, nothing happens until
    every trial has ended (the last one to end decides)."""
    options = _options(request)
    trials = TrialRun.objects.in_bulk([o["trial"] for o in options])
    if wait_for_all and not all(trials[o["trial"]].is_finished for o in options if o["trial"] in trials):
        return
    before = request.submission.results.filter(outcome=TestOutcome.PASSED.value).count()
    helpful = [
        (run.passed, -rank_, option)
        for rank_, option in enumerate(options)
        if (run := trials.get(option["trial"])) is not None
        and run.status == TrialStatus.DONE
        and run.passed is not None
        and run.passed > before
    ]
    result = _from_candidate(request.candidate)
    if helpful:
        best = max(helpful, key=lambda h: h[:2])[2]
        result.answer = HintAnswer.model_validate(best["answer"])
        _store_model_hint(request.submission, result)
        _observe_hint(request, "checked")
        _finish(request, "")
    else:
        _record_spent(request.submission, result)
        _finish(request, NOT_HELPFUL)
    FeedbackRequest.objects.filter(pk=request.pk).update(candidate=None)
    # Checks still queued are of no use now.
    TrialRun.objects.filter(pk__in=[o["trial"] for o in options], status=TrialStatus.QUEUED).delete()


def _options(request: FeedbackRequest) -> list[dict]:
    data = request.candidate or {}
    if "options" in data:
        return data["options"]
    return [{"answer": data["answer"], "trial": request.trial_id}]  # a request held before best-of-n


NOT_STORED = ("answer", "answers", "options", "cut")


def _candidate(result: HintResult) -> dict:
    return {
        "answer": result.answer.model_dump(mode="json"),
        **{f.name: getattr(result, f.name) for f in dataclass_fields(result) if f.name not in NOT_STORED},
    }


def _from_candidate(data: dict) -> HintResult:
    return HintResult(
        answer=HintAnswer.model_validate(data["answer"]),
        **{k: v for k, v in data.items() if k not in NOT_STORED},
    )


# -- storing ----------------------------------------------------------------------------------
def still_ours(request: FeedbackRequest) -> bool:
    """Inside a transaction: lock the request and check it is still this batch's. A regrade may
    have dropped it (and the hint) while the model was answering: then nothing is stored, since
    the answer is about results that no longer exist."""
    return (
        FeedbackRequest.objects.select_for_update()
        .filter(pk=request.pk, status=RequestStatus.IN_PROGRESS)
        .exists()
    )


def store(request: FeedbackRequest, outcome: Outcome) -> None:
    submission = request.submission
    with transaction.atomic():
        if not still_ours(request):
            return
        metrics.HINTS.labels(outcome.kind).inc()
        if outcome.kind == "llm":
            _store_model_hint(submission, outcome.result)
            _observe_hint(request, "llm")
            _finish(request, "")
            return
        if not Feedback.objects.filter(submission=submission).exists():
            _store_fallback(submission)
            _observe_hint(request, "fallback")
        if outcome.result is not None:
            _record_spent(submission, outcome.result)
        if outcome.kind == "deferred":
            # Back in line without spending a try, once the breaker may let calls through.
            wait = settings.LLM_BREAKER_COOLDOWN_SECONDS * (0.5 + random.random())
            FeedbackRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.PENDING,
                lease_until=None,
                tries=F("tries") - 1,
                last_error=outcome.error,
                not_before=timezone.now() + timedelta(seconds=wait),
            )
            return
        if outcome.kind == "retry" and request.tries < settings.LLM_MAX_TRIES:
            backoff = min(300.0, 2.0**request.tries) * (0.5 + random.random())
            FeedbackRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.PENDING,
                lease_until=None,
                last_error=outcome.error,
                not_before=timezone.now() + timedelta(seconds=backoff),
            )
            return
        _finish(request, outcome.error)


def _observe_hint(request: FeedbackRequest, source: str) -> None:
    if request.priority == Priority.INTERACTIVE:  # a bulk regrade's hints are nobody's wait
        metrics.hint_stored(source, (timezone.now() - request.submission.submitted_at).total_seconds())


def _store_model_hint(submission: Submission, r: HintResult) -> None:
    metrics.llm_usage(r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.ttft_seconds)
    Feedback.objects.update_or_create(
        submission=submission,
        defaults=dict(
            hint=r.answer.text(),
            line=line_in_file(r.answer.line(), submission.main_file_text),
            concept=r.answer.concept,
            source=Source.LLM,
            model=settings.LLM_MODEL,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            cached_tokens=r.cached_tokens,
            latency_seconds=r.latency_seconds,
            ttft_seconds=r.ttft_seconds,
            model_calls=r.model_calls,
            left_out="; ".join(r.left_out),
            candidates=r.candidates,
        ),
    )
    _store_rubric(submission, r.answer)


def _store_rubric(submission: Submission, answer) -> None:
    """The model's rubric scores: pending until an instructor approves them, unless the
    assignment auto-approves."""
    assignment = submission.assignment
    items = {i.name: i for i in assignment.rubric_items.all()}
    specs = [RubricSpec(i.name, i.description, float(i.max_points)) for i in items.values()]
    auto = assignment.rubric_auto_approve
    status = RubricStatus.APPROVED if auto else RubricStatus.PENDING
    decided = {
        score.item_id for score in RubricScore.objects.filter(submission=submission, decided_by__isnull=False)
    }
    for name, (points, why) in rubric_scores(answer, specs).items():
        if items[name].pk in decided:
            continue  # a person's decision stands, whatever a later hint proposes
        RubricScore.objects.update_or_create(
            submission=submission,
            item=items[name],
            defaults=dict(
                points=Decimal(str(points)).quantize(Decimal("0.01")),
                justification=why,
                status=status,
                decided_at=timezone.now() if auto else None,
            ),
        )
    recount_rubric(submission)


def _store_fallback(submission: Submission) -> None:
    assignment = submission.assignment
    results = students_view(
        submission.results.values("name", "visible", "outcome", "expected", "actual", "message", "error"),
        assignment.show_hidden_details,
    )
    hint = fallback.build_hint(results, assignment.main_file, submission.findings)
    if hint is not None:
        Feedback.objects.create(
            submission=submission,
            hint=hint.text,
            line=line_in_file(hint.line, submission.main_file_text),
            concept=hint.concept,
            source=Source.FALLBACK,
        )


def _record_spent(submission: Submission, spent: HintResult) -> None:
    """Tokens spent on answers that ended as the automatic hint still count (staff totals,
    analytics): added to the hint the student sees."""
    metrics.llm_usage(spent.prompt_tokens, spent.cached_tokens, spent.completion_tokens)
    Feedback.objects.filter(submission=submission).update(
        prompt_tokens=F("prompt_tokens") + spent.prompt_tokens,
        completion_tokens=F("completion_tokens") + spent.completion_tokens,
        cached_tokens=F("cached_tokens") + spent.cached_tokens,
        model_calls=F("model_calls") + spent.model_calls,
        left_out="; ".join(spent.left_out),
        candidates=spent.candidates,
    )
    live.changed(submission.pk)  # staff see the tokens on the live part


def _finish(request: FeedbackRequest, error: str) -> None:
    FeedbackRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.DONE, lease_until=None, last_error=error
    )
    live.changed(request.submission_id)  # no hint is coming any more: the page stops waiting
