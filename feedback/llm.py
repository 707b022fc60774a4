"""Debugging hints from an OpenAI-compatible server (vLLM). Plain data in, plain data out:
no Django here, so it can be used and tested alone.

Prompts are laid out for vLLM's automatic prefix caching: the system prompt and the
assignment's context (statement, visible tests, hint policy) come first and are byte-identical
for every student of the assignment; the student's code, failing tests and history come last.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

SYSTEM_PROMPT = """You are a patient teaching assistant for an introductory programming course.
A student's submission failed some tests. Help them find the bug themselves:
- never write the corrected code, and never quote the reference solution;
- at most one short code fragment (a single expression), and only if it is essential;
- point to where the problem is and what to examine, in plain words;
- follow the escalation level given with the submission.
Answer only with JSON that matches the requested schema."""

ESCALATION = {
    1: "Level 1 (first attempt): a gentle nudge. Name the behaviour to check; do not give a line number.",
    2: "Level 2: name the concept involved (e.g. an off-by-one bound, an empty input, integer division).",
    3: "Level 3 (the student has tried several times): point to the line and say what to examine there.",
}


class HintItem(BaseModel):
    text: str = Field(min_length=1, max_length=1500)
    line: int | None = Field(None, ge=1)


class RubricEntry(BaseModel):
    item: str = Field(max_length=100)
    points: float = Field(ge=0)
    justification: str = Field(min_length=1, max_length=2000)


class HintAnswer(BaseModel):
    """The JSON the model must produce (sent as response_format json_schema)."""

    summary: str = Field(min_length=1, max_length=1500)
    hints: list[HintItem] = Field(min_length=1, max_length=3)
    concept: str = Field(min_length=1, max_length=200)
    confidence: float = Field(ge=0, le=1)
    rubric: list[RubricEntry] = Field(default_factory=list, max_length=20)

    def text(self) -> str:
        return " ".join([self.summary] + [h.text for h in self.hints if h.text != self.summary])

    def line(self) -> int | None:
        return next((h.line for h in self.hints if h.line), None)


class RepairAnswer(BaseModel):
    """The model, playing the student, rewrites the main file using only the hint."""

    code: str = Field(min_length=1, max_length=200_000)


REPAIR_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "repair", "schema": RepairAnswer.model_json_schema(), "strict": True},
}

RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "hint", "schema": HintAnswer.model_json_schema(), "strict": True},
}


@dataclass
class FailingTest:
    name: str
    visible: bool
    outcome: str
    input: str = ""
    expected: str | None = None
    actual: str | None = None
    error: dict[str, Any] | None = None  # the report's error (sandbox.schema.StudentError), as stored


@dataclass
class RubricSpec:
    name: str
    description: str
    max_points: float


@dataclass
class HintRequest:
    """Everything a hint is built from. ``reference_files`` feeds the guard, never the prompt."""

    assignment_key: str
    statement: str
    visible_tests: list[str]
    show_hidden_details: bool
    files: dict[str, str]
    failing: list[FailingTest]
    attempt: int = 1
    previous_files: dict[str, str] | None = None
    previous_hints: list[str] = field(default_factory=list)
    reference_files: dict[str, str] = field(default_factory=dict)
    rubric: list[RubricSpec] = field(default_factory=list)
    validate_with_sandbox: bool = False
    main_file: str = "solution.py"
    findings: list[str] = field(default_factory=list)  # what reading the code found (no test data)
    candidates: int = 1  # best-of-n: answers asked for in one request (they share its prefill)
    critic: bool = False  # a critic model ranks the candidates
    # vLLM's request priority (lower first, with --scheduling-policy priority); None: not sent.
    priority: int | None = None


def escalation_level(request: HintRequest) -> int:
    return min(3, max(1, request.attempt))


def shared_prefix(request: HintRequest) -> str:
    """The part every student of the assignment shares, byte for byte."""
    tests = "\n".join(f"- {t}" for t in request.visible_tests) or "(none)"
    policy = (
        "Hidden tests: their inputs and expected values may be discussed."
        if request.show_hidden_details
        else "Hidden tests: only their names are known; never guess or reveal their inputs or expected values."
    )
    text = f"# Assignment {request.assignment_key}\n\n{request.statement.strip()}\n\n# Visible tests\n{tests}\n\n{policy}\n"
    if request.rubric:
        items = "\n".join(f"- {r.name} (max {r.max_points:g}): {r.description}" for r in request.rubric)
        text += f"\n# Rubric (grade each item in `rubric`, justify in one or two sentences)\n{items}\n"
    return text


def rubric_scores(answer: HintAnswer, rubric: list[RubricSpec]) -> dict[str, tuple[float, str]]:
    """The answer's rubric entries for known items, points clipped to each item's maximum."""
    limits = {r.name: r.max_points for r in rubric}
    return {
        e.item: (min(e.points, limits[e.item]), e.justification) for e in answer.rubric if e.item in limits
    }


def numbered(
    files: dict[str, str], windows: dict[str, tuple[int, int]] | None = None, line_chars: int = 0
) -> str:
    """The files with their line numbers. ``windows`` maps a file to the (first, last) lines kept
    of it (numbers stay the file's own); ``line_chars`` cuts longer lines."""
    parts = []
    for name in sorted(files):
        lines = files[name].splitlines()
        first, last = 1, len(lines)
        if windows and name in windows:
            first, last = max(1, windows[name][0]), min(len(lines), windows[name][1])
        shown = []
        if first > 1:
            shown.append(f"     | … lines 1–{first - 1} left out …")
        for i in range(first, last + 1):
            line = lines[i - 1]
            if line_chars and len(line) > line_chars:
                line = line[:line_chars] + " … (line cut)"
            shown.append(f"{i:>4} | {line}")
        if last < len(lines):
            shown.append(f"     | … lines {last + 1}–{len(lines)} left out …")
        parts.append(f"## {name}\n" + "\n".join(shown))
    return "\n\n".join(parts)


def describe_failure(test: FailingTest, show_hidden: bool) -> str:
    detailed = test.visible or show_hidden
    lines = [f"Test “{test.name}” ({'visible' if test.visible else 'hidden'}): {test.outcome}"]
    if detailed and test.input:
        lines.append(f"  input: {test.input[:500]}")
    if detailed and test.expected is not None:
        lines.append(f"  expected: {test.expected[:500]}")
        lines.append(f"  actual: {str(test.actual)[:500]}")
    if test.error:
        where = f" at line {test.error['line']}" if test.error.get("line") else ""
        message = test.error.get("message", "") if detailed else ""
        lines.append(f"  raised {test.error.get('type')}{where}: {message[:300]}")
        trace = (test.error.get("traceback") or "").strip().splitlines()
        if detailed and trace:
            lines.append("  traceback (last lines):\n" + "\n".join("    " + t for t in trace[-8:]))
    return "\n".join(lines)


def changes_since(previous: dict[str, str] | None, current: dict[str, str]) -> str:
    import difflib

    if not previous:
        return "This is the first attempt."
    diff: list[str] = []
    for name in sorted(set(previous) | set(current)):
        diff += difflib.unified_diff(
            previous.get(name, "").splitlines(),
            current.get(name, "").splitlines(),
            f"previous/{name}",
            f"current/{name}",
            lineterm="",
            n=1,
        )
    return "Changes since the previous attempt:\n" + ("\n".join(diff[:80]) or "(no change)")


@dataclass(frozen=True)
class Cut:
    """What a prompt leaves out to fit the server's context window; Cut() leaves out nothing."""

    history: bool = False  # the changes since the previous attempt
    failing: int | None = None  # at most this many failing tests
    other_files: bool = False  # every file but the main one
    window: int | None = None  # lines of the failing file kept, around the failing line
    statement: int | None = None  # characters of the statement kept
    extras: bool = False  # earlier hints left out, each visible test shortened


# Tried in order until the prompt fits: history first (least useful for this attempt's bug),
# then the number of failing tests, other files, the main file narrowed around the failing
# region, and only at last the statement (it is the shared prefix every student reuses).
CUTS = (
    Cut(),
    Cut(history=True),
    Cut(history=True, failing=5),
    Cut(history=True, failing=5, other_files=True),
    *(Cut(history=True, failing=3, other_files=True, window=w) for w in (400, 200, 100, 50, 24)),
    Cut(history=True, failing=2, other_files=True, window=24, statement=2000, extras=True),
    Cut(history=True, failing=1, other_files=True, window=12, statement=400, extras=True),
)
VISIBLE_TEST_CHARS_WHEN_CUT = 120
LINE_CHARS_WHEN_CUT = 240


def focus(request: HintRequest) -> tuple[str, int]:
    """The file and line the failing tests point at (only what the student may see: hidden
    tests' lines were removed before), else the main file's first line."""
    for test in request.failing:
        error = test.error or {}
        line, name = error.get("line"), error.get("file") or request.main_file
        if isinstance(line, int) and line >= 1 and name in request.files:
            return name, min(line, max(1, len(request.files[name].splitlines())))
    return request.main_file, 1


def _window(request: HintRequest, size: int) -> tuple[str, int, int]:
    """``size`` lines of the failing file around the failing line, within the file."""
    name, line = focus(request)
    count = max(1, len(request.files[name].splitlines()))
    first = max(1, min(line - size // 2, count - size + 1))
    return name, first, min(count, first + size - 1)


def _windows(request: HintRequest, size: int) -> dict[str, tuple[int, int]]:
    """The failing file around its failing line; the main file, when it is another, its head."""
    name, first, last = _window(request, size)
    windows = {name: (first, last)}
    if request.main_file != name:
        windows[request.main_file] = (1, size)
    return windows


def kept_files(request: HintRequest) -> set[str]:
    """Files a prompt keeps whatever it cuts: the main file and the one the failure is in."""
    return {request.main_file, focus(request)[0]}


def cut_notes(request: HintRequest, cut: Cut) -> list[str]:
    """What ``cut`` leaves out of this request's prompt, in words (for the model and staff)."""
    notes = []
    if cut.history and request.previous_files:
        notes.append("the changes since the previous attempt")
    if cut.failing is not None and len(request.failing) > cut.failing:
        notes.append(f"{len(request.failing) - cut.failing} of {len(request.failing)} failing tests")
    others = sorted(n for n in request.files if n not in kept_files(request))
    if cut.other_files and others:
        notes.append("the files " + ", ".join(others))
    if cut.window is not None:
        for name, (first, last) in _windows(request, cut.window).items():
            lines = request.files.get(name, "").splitlines()
            last = min(last, len(lines))
            if first > 1 or last < len(lines):
                notes.append(f"{name} outside lines {first}–{last}")
        kept = [line for name in kept_files(request) for line in request.files.get(name, "").splitlines()]
        if any(len(line) > LINE_CHARS_WHEN_CUT for line in kept):
            notes.append(f"the ends of lines longer than {LINE_CHARS_WHEN_CUT} characters")
    if cut.statement is not None and len(request.statement.strip()) > cut.statement:
        notes.append(f"the statement after {cut.statement} characters")
    if cut.extras and request.previous_hints:
        notes.append("the hints given before")
    if cut.extras and any(len(t) > VISIBLE_TEST_CHARS_WHEN_CUT for t in request.visible_tests):
        notes.append(f"visible tests after {VISIBLE_TEST_CHARS_WHEN_CUT} characters")
    return notes


def code_block(request: HintRequest, cut: Cut) -> str:
    """The student's numbered files, as much of them as ``cut`` keeps."""
    files = request.files
    if cut.other_files:
        files = {n: c for n, c in files.items() if n in kept_files(request)} or files
    if cut.window is None:
        return numbered(files)
    return numbered(files, _windows(request, cut.window), LINE_CHARS_WHEN_CUT)


def failures_block(request: HintRequest, cut: Cut) -> str:
    failing = request.failing if cut.failing is None else request.failing[: cut.failing]
    return "\n".join(describe_failure(t, request.show_hidden_details) for t in failing)


def shared_block(request: HintRequest, cut: Cut) -> str:
    """The assignment's shared context (the cacheable prefix), as much of it as ``cut`` keeps."""
    shared = request
    if cut.statement is not None and len(request.statement.strip()) > cut.statement:
        shared = dataclasses.replace(request, statement=request.statement.strip()[: cut.statement] + " …")
    if cut.extras:
        shared = dataclasses.replace(
            shared,
            visible_tests=[
                t if len(t) <= VISIBLE_TEST_CHARS_WHEN_CUT else t[:VISIBLE_TEST_CHARS_WHEN_CUT] + " …"
                for t in request.visible_tests
            ],
        )
    return shared_prefix(shared)


def build_messages(request: HintRequest, cut: Cut = Cut()) -> list[ChatCompletionMessageParam]:
    failures = failures_block(request, cut)
    given = "\n".join(f"- {h}" for h in request.previous_hints[-3:]) or "(none)"
    if cut.extras:
        given = "(left out)" if request.previous_hints else "(none)"
    code = code_block(request, cut)
    history = (
        "Changes since the previous attempt: left out."
        if cut.history and request.previous_files
        else changes_since(request.previous_files, request.files)
    )
    notes = cut_notes(request, cut)
    left_out = (
        "# Left out to fit the context window (do not guess what they say)\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n\n"
        if notes
        else ""
    )
    found = (
        "# Found by reading the code (certain; start from these)\n"
        + "\n".join(f"- {f}" for f in request.findings)
        + "\n\n"
        if request.findings
        else ""
    )
    student = (
        f"# Attempt {request.attempt}\n{ESCALATION[escalation_level(request)]}\n\n{left_out}"
        f"# Student code\n{code}\n\n{found}# Failing tests\n{failures or '(no test ran: the code does not run)'}\n\n"
        f"# {history}\n\n"
        f"# Hints already given (do not repeat them; go one step further)\n{given}\n"
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT + "\n\n" + shared_block(request, cut)},
        {"role": "user", "content": student},
    ]


# -- the server and its context window ---------------------------------------------------------
@dataclass
class ServerInfo:
    """What ``GET /v1/models`` says: the models served and, from vLLM, their context length."""

    models: list[str]
    max_model_len: int | None = None

    def serves(self, model: str) -> bool:
        return model in self.models


async def server_info(client: AsyncOpenAI, model: str) -> ServerInfo:
    """Raises the client's errors (connection, status) for the caller to classify."""
    page = await client.models.list()
    info = ServerInfo([m.id for m in page.data])
    for m in page.data:
        if m.id == model:
            length = (m.model_extra or {}).get("max_model_len")
            info.max_model_len = int(length) if isinstance(length, int | float) and length > 0 else None
    return info


def root_of(base_url: str) -> str:
    """A server's own root from its /v1 URL (vLLM serves /tokenize, /metrics and /health there)."""
    return re.sub(r"/v1$", "", base_url.strip().rstrip("/"))


def server_root(client: AsyncOpenAI) -> str:
    return root_of(str(client.base_url))


TokenCounter = Callable[[list["ChatCompletionMessageParam"]], Awaitable[int | None]]


def vllm_token_counter(client: AsyncOpenAI, model: str) -> TokenCounter:
    """Exact prompt length from vLLM's ``POST /tokenize`` (chat template applied); None from a
    server without it."""

    async def count(messages: list[ChatCompletionMessageParam]) -> int | None:
        try:
            # The SDK's documented way to reach an endpoint it has no method for.
            answer = await client.post(
                server_root(client) + "/tokenize",
                cast_to=object,
                body={"model": model, "messages": messages, "add_generation_prompt": True},
            )
        except openai.APIError:
            return None
        value = answer.get("count") if isinstance(answer, dict) else None
        return int(value) if isinstance(value, int) else None

    return count


class PromptTooLong(Exception):
    """Even the shortest form of the prompt leaves no room for an answer."""


@dataclass
class ContextWindow:
    """The server's context length and how to count a prompt's tokens in it."""

    max_model_len: int
    count: TokenCounter | None = None
    min_answer_tokens: int = 256


def upper_bound_tokens(messages: list[ChatCompletionMessageParam]) -> int:
    """A byte-level BPE tokenizer makes at most one token per byte; the chat template adds a
    few per message. Exact enough to skip counting for every prompt that is clearly short."""
    return sum(len(str(m.get("content") or "").encode()) + 8 for m in messages) + 8


@dataclass
class Fitted:
    messages: list[ChatCompletionMessageParam]
    prompt_tokens: int  # exact when the server counted, else an upper bound or an estimate
    left_out: list[str]
    cut: Cut = Cut()


async def fit_prompt(request: HintRequest, answer_tokens: int, context: ContextWindow | None) -> Fitted:
    """The fullest prompt that leaves ``answer_tokens`` (at least ``min_answer_tokens``) of the
    context for the answer, and what it left out. Raises PromptTooLong."""
    if context is None:
        messages = build_messages(request)
        return Fitted(messages, upper_bound_tokens(messages), [])
    room = min(answer_tokens, context.max_model_len // 2)
    room = max(room, min(context.min_answer_tokens, context.max_model_len // 2))
    limit = context.max_model_len - room
    for cut in CUTS:
        messages = build_messages(request, cut)
        tokens = upper_bound_tokens(messages)
        if tokens > limit:
            if context.count is None:
                # No counter (not vLLM): assume a dense tokenizer, about two bytes a token.
                tokens = math.ceil(tokens / 2)
            else:
                # The server's count; if it cannot count now, the byte bound stands (safe).
                tokens = await context.count(messages) or tokens
        if tokens <= limit:
            return Fitted(messages, tokens, cut_notes(request, cut), cut)
    raise PromptTooLong(
        f"the prompt does not fit {context.max_model_len} tokens even with everything optional left out"
    )


# -- the guard --------------------------------------------------------------------------------
WORD = re.compile(r"\w+")
CODE_LINE = re.compile(r"^\s*(def |class |for |while |if |elif |else:|return |import |from |\w+\s*=[^=])")


def guard_problems(answer: HintAnswer, reference_files: dict[str, str], ngram: int = 8) -> list[str]:
    """Why a hint must not be shown: it gives the solution away, is mostly code, or reads badly."""
    text = "\n".join([answer.summary] + [h.text for h in answer.hints])
    problems = []
    hint_words = WORD.findall(text.lower())
    grams = {tuple(hint_words[i : i + ngram]) for i in range(len(hint_words) - ngram + 1)}
    for source in reference_files.values():
        ref = WORD.findall(source.lower())
        ref_grams = {tuple(ref[i : i + ngram]) for i in range(len(ref) - ngram + 1)}
        if ref_grams and len(grams & ref_grams) >= 1:
            problems.append("reproduces the reference solution")
            break
    code_lines = sum(1 for line in text.splitlines() if CODE_LINE.match(line)) + text.count("```") // 2 * 3
    if code_lines > 2:
        problems.append("contains too much code")
    words = len(hint_words)
    if not 15 <= words <= 260:
        problems.append(f"length {words} words is outside 15-260")
    return problems


# -- calling the model ------------------------------------------------------------------------
class StreamStalled(Exception):
    """The server stopped sending tokens for longer than the stall bound: treated like a
    timeout (the slot is freed at once instead of after the read timeout)."""


class UnusableAnswer(Exception):
    """The model answered, but no answer can be shown. ``spent`` holds what the calls cost
    (tokens, timings), recorded even though the student gets the automatic hint."""

    def __init__(self, message: str, spent: HintResult | None = None) -> None:
        super().__init__(message)
        self.spent = spent


class InvalidAnswer(UnusableAnswer):
    """The model answered twice with something that does not match the schema."""


class GuardRejected(UnusableAnswer):
    """Every candidate broke a guard rule; the fallback hint is used instead."""


@dataclass
class HintResult:
    answer: HintAnswer
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    ttft_seconds: float | None = None
    latency_seconds: float = 0.0
    model_calls: int = 0
    left_out: list[str] = field(default_factory=list)  # what the prompt left out to fit
    cut: Cut = Cut()  # how the prompt was cut (the critic's prompt is cut the same way)
    # Best-of-n: every candidate that passed the schema and the guard, best first (``answer`` is
    # the first), and how many the model was asked for.
    answers: list[HintAnswer] = field(default_factory=list)
    candidates: int = 1


AnswerT = TypeVar("AnswerT", bound=BaseModel)
MAX_CANDIDATES = 8  # best-of-n: at most this many hints in one request
# An answer cut by max_tokens is asked again with room for the schema's longest answer.
MAX_ANSWER_TOKENS = 4096


def parse_answer(model: type[AnswerT], raw: str) -> AnswerT:
    """The model's JSON, read leniently about raw control characters inside strings (structured
    output may emit a TAB there; the JSON spec says escape it, json's strict=False accepts it),
    then validated by the schema. Raises pydantic's ValidationError or ValueError."""
    return model.model_validate(json.loads(raw, strict=False))


async def _complete(
    client: AsyncOpenAI,
    model: str,
    messages: list[ChatCompletionMessageParam],
    max_tokens: int,
    result: HintResult,
    stall_seconds: float = 30.0,
    n: int = 1,
    priority: int | None = None,
) -> list[tuple[str, str | None]]:
    """One streamed call for ``n`` answers (vLLM computes the prompt once for all of them):
    per answer, (its text, its finish reason). Accumulates usage and timings into ``result``."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model=model,
        messages=messages,
        response_format=RESPONSE_FORMAT,
        max_tokens=max_tokens,
        temperature=0.2 if n == 1 else 0.8,  # several candidates are worth having only if they differ
        n=n,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"priority": priority} if priority is not None else None,
    )
    pieces: list[list[str]] = [[] for _ in range(n)]
    finish: list[str | None] = [None] * n
    chunks = stream.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout=stall_seconds)
        except StopAsyncIteration:
            break
        except TimeoutError:
            await stream.close()
            raise StreamStalled(f"no token for {stall_seconds:g} s") from None
        for choice in chunk.choices:
            if not 0 <= choice.index < n:
                continue
            if choice.finish_reason:
                finish[choice.index] = choice.finish_reason
            if choice.delta.content:
                if result.ttft_seconds is None:
                    result.ttft_seconds = time.perf_counter() - started
                pieces[choice.index].append(choice.delta.content)
        if chunk.usage:
            result.prompt_tokens += chunk.usage.prompt_tokens
            result.completion_tokens += chunk.usage.completion_tokens
            details = chunk.usage.prompt_tokens_details
            result.cached_tokens += (details.cached_tokens or 0) if details else 0
    result.latency_seconds += time.perf_counter() - started
    result.model_calls += 1
    return [("".join(p), f) for p, f in zip(pieces, finish, strict=True)]


async def generate_hint(
    client: AsyncOpenAI,
    model: str,
    request: HintRequest,
    max_tokens: int = 600,
    stall_seconds: float = 30.0,
    context: ContextWindow | None = None,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> HintResult:
    """Ask for a hint; one retry on schema-invalid output, one regeneration when the guard
    rejects it. The prompt is fitted to ``context`` (the server's window) when it is known.
    Raises InvalidAnswer or GuardRejected (the caller serves the fallback), PromptTooLong, and
    lets the client's errors (rate limits, 5xx, connection) through for the caller's retry policy."""
    fitted = await fit_prompt(request, max_tokens, context)
    messages, prompt_tokens = fitted.messages, fitted.prompt_tokens
    # Only usage and timings are collected until an answer passes; it is set before the return.
    result = HintResult(answer=None, left_out=fitted.left_out, cut=fitted.cut)  # type: ignore[arg-type]  # no answer yet, see above

    def room(wanted: int) -> int:
        # vLLM refuses (400) a request whose prompt and max_tokens exceed its context length.
        if context is None:
            return wanted
        return max(1, min(wanted, context.max_model_len - prompt_tokens))

    max_tokens = room(max_tokens)
    n = max(1, min(MAX_CANDIDATES, request.candidates))
    result.candidates = n
    for _ in range(2):  # a guard rejection gets one more chance
        answers: list[tuple[HintAnswer, str]] = []
        for _ in range(2):  # an invalid answer gets one more chance
            choices = await _complete(
                client, model, messages, max_tokens, result, stall_seconds, n, request.priority
            )
            for raw, finish in choices:
                if finish == "length":  # cut short: not an answer
                    continue
                try:
                    answers.append((parse_answer(HintAnswer, raw), raw))
                except ValueError:  # pydantic's ValidationError is a ValueError, as is bad JSON
                    continue
            if answers:
                break
            if any(finish == "length" for _, finish in choices):
                # Asking again the same way would cut it again: room for the longest answer.
                max_tokens = room(max(max_tokens, max_answer_tokens))
        if not answers:
            raise InvalidAnswer("the model's answer did not match the schema twice", result)
        verdicts = [(answer, raw, guard_problems(answer, request.reference_files)) for answer, raw in answers]
        passing = [answer for answer, _, problems in verdicts if not problems]
        if passing:
            # The model's own confidence orders the candidates until a critic or the sandbox does.
            result.answers = sorted(passing, key=lambda a: -a.confidence)
            result.answer = result.answers[0]
            return result
        _, raw, _ = verdicts[0]
        problems = list(dict.fromkeys(problem for _, _, found in verdicts for problem in found))
        rewrite: list[ChatCompletionMessageParam] = [
            {"role": "assistant", "content": raw},
            {
                "role": "user",
                "content": "Rewrite the hint: it "
                + "; ".join(problems)
                + ". Describe what to examine instead of showing code.",
            },
        ]
        messages = messages + rewrite
        prompt_tokens += upper_bound_tokens(rewrite)
        if context is not None and context.max_model_len - prompt_tokens < context.min_answer_tokens:
            break  # no room left to ask again
        max_tokens = room(max_tokens)
    raise GuardRejected("; ".join(problems), result)


# -- choosing among candidates -----------------------------------------------------------------
class CriticAnswer(BaseModel):
    scores: list[int] = Field(min_length=1, max_length=16)


# The critic only orders candidates: a slow or dead critic must not hold the hint for long.
CRITIC_TIMEOUT_SECONDS = 30.0
CRITIC_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "critic", "schema": CriticAnswer.model_json_schema(), "strict": True},
}


def critic_messages(
    request: HintRequest, answers: list[HintAnswer], cut: Cut = Cut()
) -> list[ChatCompletionMessageParam]:
    """The hints to score, with the code and failures cut as the hints' own prompt was (it fit)."""
    candidates = "\n\n".join(f"## Hint {i}\n{a.text()}" for i, a in enumerate(answers, 1))
    failures = failures_block(request, Cut(failing=5) if cut.failing is None else cut)
    return [
        {
            "role": "system",
            "content": "You review debugging hints written for a student. Score each hint from 0 to 10: "
            "10 = points the student at the actual bug and what to examine, without giving the fix "
            "or the solution away; 0 = wrong, vague or gives the solution. Answer with JSON: "
            '{"scores": [one integer per hint, in order]}.\n\n' + shared_block(request, cut),
        },
        {
            "role": "user",
            "content": f"# Student code\n{code_block(request, cut)}\n\n# Failing tests\n{failures}\n\n"
            f"# Hints to score\n{candidates}\n",
        },
    ]


async def critic_scores(
    client: AsyncOpenAI, model: str, request: HintRequest, answers: list[HintAnswer], result: HintResult
) -> list[int] | None:
    """A critic model's score (0-10) of each candidate; None when it cannot say (the order
    stays the model's own). Its tokens are added to ``result``: choosing has a cost."""
    started = time.perf_counter()
    response = await client.with_options(timeout=CRITIC_TIMEOUT_SECONDS).chat.completions.create(
        model=model,
        messages=critic_messages(request, answers, result.cut),
        response_format=CRITIC_FORMAT,
        max_tokens=16 + 8 * len(answers),
        temperature=0,
        extra_body={"priority": request.priority} if request.priority is not None else None,
    )
    result.latency_seconds += time.perf_counter() - started
    result.model_calls += 1
    if response.usage:
        result.prompt_tokens += response.usage.prompt_tokens
        result.completion_tokens += response.usage.completion_tokens
    try:
        scores = parse_answer(CriticAnswer, response.choices[0].message.content or "").scores
    except ValueError:
        return None
    if len(scores) != len(answers):
        return None
    return [max(0, min(10, s)) for s in scores]


def rank(answers: list[HintAnswer], scores: list[int] | None) -> list[HintAnswer]:
    """Best first: the critic's score, then the model's confidence, then the model's order."""
    keyed = [(-(scores[i] if scores else 0), -a.confidence, i, a) for i, a in enumerate(answers)]
    return [a for *_, a in sorted(keyed, key=lambda k: k[:3])]


def repair_messages(request: HintRequest, hint: str) -> list[ChatCompletionMessageParam]:
    """Ask the model to act as the student who reads only this hint (no tests, no solution)."""
    return [
        {
            "role": "system",
            "content": "You are a beginner programmer. You fix your own code using only the "
            "teaching assistant's hint. Answer with JSON: the whole corrected file.",
        },
        {
            "role": "user",
            "content": f"# My code ({request.main_file})\n{numbered(request.files)}\n\n"
            f"# The hint I received\n{hint}\n\nRewrite {request.main_file} completely.",
        },
    ]


REPAIR_TOKENS = 2000


async def propose_repair(
    client: AsyncOpenAI,
    model: str,
    request: HintRequest,
    hint: str,
    result: HintResult,
    context: ContextWindow | None = None,
) -> str | None:
    """The model's repair of the student's code guided by ``hint``; None if unusable (or if the
    whole file and its rewrite cannot fit the server's context window)."""
    messages = repair_messages(request, hint)
    max_tokens = REPAIR_TOKENS
    if context is not None:
        tokens: int | None = upper_bound_tokens(messages)
        if tokens is not None and tokens + REPAIR_TOKENS > context.max_model_len and context.count:
            tokens = await context.count(messages)
        if tokens is None or context.max_model_len - tokens < context.min_answer_tokens:
            return None
        max_tokens = min(REPAIR_TOKENS, context.max_model_len - tokens)
    started = time.perf_counter()
    response = await client.chat.completions.create(
        model=model,
        messages=messages,
        response_format=REPAIR_FORMAT,
        max_tokens=max_tokens,
        temperature=0,
        extra_body={"priority": request.priority} if request.priority is not None else None,
    )
    result.latency_seconds += time.perf_counter() - started
    result.model_calls += 1
    if response.usage:
        result.prompt_tokens += response.usage.prompt_tokens
        result.completion_tokens += response.usage.completion_tokens
    try:
        return parse_answer(RepairAnswer, response.choices[0].message.content or "").code
    except ValueError:  # not JSON, or not the schema (pydantic's ValidationError)
        return None
