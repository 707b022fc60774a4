"""Debugging hints from an OpenAI-compatible server (vLLM). Plain data in, plain data out:
no Django here, so it can be used and tested alone.

Prompts are laid out for vLLM's automatic prefix caching: the system prompt and the
assignment's context (statement, visible tests, hint policy) come first and are byte-identical
for every student of the assignment; the student's code, failing tests and history come last.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

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


def numbered(files: dict[str, str]) -> str:
    parts = []
    for name in sorted(files):
        lines = files[name].splitlines()
        parts.append(f"## {name}\n" + "\n".join(f"{i:>4} | {line}" for i, line in enumerate(lines, 1)))
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


def build_messages(request: HintRequest) -> list[ChatCompletionMessageParam]:
    failures = "\n".join(describe_failure(t, request.show_hidden_details) for t in request.failing)
    given = "\n".join(f"- {h}" for h in request.previous_hints[-3:]) or "(none)"
    student = (
        f"# Attempt {request.attempt}\n{ESCALATION[escalation_level(request)]}\n\n"
        f"# Student code\n{numbered(request.files)}\n\n# Failing tests\n{failures}\n\n"
        f"# {changes_since(request.previous_files, request.files)}\n\n"
        f"# Hints already given (do not repeat them; go one step further)\n{given}\n"
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT + "\n\n" + shared_prefix(request)},
        {"role": "user", "content": student},
    ]


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


AnswerT = TypeVar("AnswerT", bound=BaseModel)
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
) -> tuple[str, str | None]:
    """One streamed call: (the text, its finish reason). Accumulates usage and timings into
    ``result``."""
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model=model,
        messages=messages,
        response_format=RESPONSE_FORMAT,
        max_tokens=max_tokens,
        temperature=0.2,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces = []
    finish: str | None = None
    chunks = stream.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout=stall_seconds)
        except StopAsyncIteration:
            break
        except TimeoutError:
            await stream.close()
            raise StreamStalled(f"no token for {stall_seconds:g} s") from None
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
        if chunk.choices and chunk.choices[0].delta.content:
            if result.ttft_seconds is None:
                result.ttft_seconds = time.perf_counter() - started
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            result.prompt_tokens += chunk.usage.prompt_tokens
            result.completion_tokens += chunk.usage.completion_tokens
            details = chunk.usage.prompt_tokens_details
            result.cached_tokens += (details.cached_tokens or 0) if details else 0
    result.latency_seconds += time.perf_counter() - started
    result.model_calls += 1
    return "".join(pieces), finish


async def generate_hint(
    client: AsyncOpenAI,
    model: str,
    request: HintRequest,
    max_tokens: int = 600,
    stall_seconds: float = 30.0,
) -> HintResult:
    """Ask for a hint; one retry on schema-invalid output, one regeneration when the guard
    rejects it. Raises InvalidAnswer or GuardRejected (the caller serves the fallback) and
    lets the client's errors (rate limits, 5xx, connection) through for the caller's retry policy."""
    messages = build_messages(request)
    # Only usage and timings are collected until an answer passes; it is set before the return.
    result = HintResult(answer=None)  # type: ignore[arg-type]  # no answer yet, see above
    for _ in range(2):  # a guard rejection gets one more chance
        answer = None
        for _ in range(2):  # an invalid answer gets one more chance
            raw, finish = await _complete(client, model, messages, max_tokens, result, stall_seconds)
            if finish == "length":  # cut short: asking again the same way would cut it again
                max_tokens = max(max_tokens, MAX_ANSWER_TOKENS)
                continue
            try:
                answer = parse_answer(HintAnswer, raw)
                break
            except ValueError:  # pydantic's ValidationError is a ValueError, as is bad JSON
                continue
        if answer is None:
            raise InvalidAnswer("the model's answer did not match the schema twice", result)
        problems = guard_problems(answer, request.reference_files)
        if not problems:
            result.answer = answer
            return result
        messages = messages + [
            {"role": "assistant", "content": raw},
            {
                "role": "user",
                "content": "Rewrite the hint: it "
                + "; ".join(problems)
                + ". Describe what to examine instead of showing code.",
            },
        ]
    raise GuardRejected("; ".join(problems), result)


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


async def propose_repair(
    client: AsyncOpenAI, model: str, request: HintRequest, hint: str, result: HintResult
) -> str | None:
    """The model's repair of the student's code guided by ``hint``; None if unusable."""
    started = time.perf_counter()
    response = await client.chat.completions.create(
        model=model,
        messages=repair_messages(request, hint),
        response_format=REPAIR_FORMAT,
        max_tokens=2000,
        temperature=0,
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
