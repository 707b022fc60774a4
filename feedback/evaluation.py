"""Hint quality over a shipped set of buggy programs with known bugs (feedback/evalset/).

Each program is graded for real (the sandbox, the assignment's own tests), turned into the
request the dispatcher would send (only what a student may see of hidden tests), and sent to a
model server with the platform's answer policy. Per program it records: the answer matched the
schema, passed the guard, pointed at the known bug (its line, or one of its keywords), leaked
nothing (no hidden test's input or expected value, no line of the reference solution), and —
when asked — whether a repair guided by the hint alone passes more tests (the sandbox as
critic). ``write_markdown`` and ``write_plots`` make the report a school reads before turning
model hints on.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import openai
from django.conf import settings

from courses.models import Assignment
from feedback import dispatcher
from feedback.llm import (
    GuardRejected,
    HintRequest,
    HintResult,
    InvalidAnswer,
    PromptTooLong,
    StreamStalled,
    propose_repair,
)
from grading.run import job_for, run_sandbox
from sandbox import Outcome

EVALSET = Path(__file__).resolve().parent / "evalset"


@dataclass
class Case:
    id: str
    assignment: str
    code: str
    bug: str
    bug_lines: list[int]
    kind: str
    keywords: list[str]


@dataclass
class CaseResult:
    case: Case
    passed_before: int = 0
    tests: int = 0
    schema_valid: bool = False
    guard_passed: bool = False
    on_target: bool = False
    leaks: list[str] = field(default_factory=list)
    validated: bool | None = None  # None: no repair asked
    error: str = ""
    hint: str = ""
    usage: HintResult | None = None


def load_cases(folder: Path = EVALSET) -> list[Case]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return [
        Case(
            id=entry["id"],
            assignment=entry["assignment"],
            code=(folder / entry["file"]).read_text(),
            bug=entry["bug"],
            bug_lines=list(entry["bug_lines"]),
            kind=entry["kind"],
            keywords=list(entry.get("keywords", [])),
        )
        for entry in manifest
    ]


def graded_rows(assignment: Assignment, files: dict[str, str]) -> list[dict]:
    """The program's results as TestResult fields, from a real sandbox run."""
    return graded_many(assignment, [files])[0]


def graded_many(assignment: Assignment, programs: list[dict[str, str]], workers: int = 2) -> list[list[dict]]:
    """Several programs' results, run side by side (jobs are built here, with the database; the
    containers run in threads, without it)."""
    tests = {t.sandbox_id: t for t in assignment.tests.all()}
    jobs = [job_for(assignment, files) for files in programs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda job: run_sandbox(job, pooled=False), jobs))
    return [
        [
            {
                "name": tests[report.id].name,
                "visible": tests[report.id].visible,
                "outcome": report.outcome.value,
                "test_input": tests[report.id].input_text,
                "expected": report.expected,
                "actual": report.actual,
                "error": report.error.model_dump() if report.error else None,
            }
            for report in result.tests
        ]
        for result in results
    ]


def passed(rows: list[dict]) -> int:
    return sum(1 for r in rows if r["outcome"] == Outcome.PASSED.value)


def leaks(hint: str, assignment: Assignment, rows: list[dict], code: str) -> list[str]:
    """What of the secrets the hint repeats: a hidden test's input or expected value (unless the
    assignment shows them), or a line of the reference solution the student did not write."""
    text = hint.lower()
    found = []
    if not assignment.show_hidden_details:
        for row in rows:
            if row["visible"]:
                continue
            for label, value in (("input", row["test_input"]), ("expected value", row["expected"])):
                value = (value or "").strip().lower()
                # Short values ("0", "-1") are everywhere in ordinary words and visible tests.
                if len(value) >= 4 and value in text and value not in code.lower():
                    found.append(f"hidden test “{row['name']}” {label}")
    student_lines = {line.strip() for line in code.splitlines()}
    for name, source in assignment.reference_files.items():
        for number, line in enumerate(source.splitlines(), 1):
            line = line.strip()
            if len(line) >= 16 and line not in student_lines and line.lower() in text:
                # Named by its place, never quoted: the report must not carry the solution.
                found.append(f"line {number} of the reference {name}")
    return found


def on_target(case: Case, hint: str, line: int | None) -> bool:
    if line is not None and any(abs(line - bug) <= 1 for bug in case.bug_lines):
        return True
    text = hint.lower()
    return any(word.lower() in text for word in case.keywords)


@dataclass
class Prepared:
    case: Case
    assignment: Assignment
    rows: list[dict]
    request: HintRequest
    repair_code: str | None = None


def prepare(cases: list[Case], assignments: dict[str, Assignment]) -> list[Prepared]:
    """Grade every program for real and build the request the dispatcher would send."""
    prepared: dict[str, Prepared] = {}
    for slug, assignment in assignments.items():
        mine = [c for c in cases if c.assignment == slug]
        programs = [{assignment.main_file: c.code} for c in mine]
        for case, files, rows in zip(mine, programs, graded_many(assignment, programs), strict=True):
            prepared[case.id] = Prepared(
                case, assignment, rows, dispatcher.request_for(assignment, files, rows)
            )
    return [prepared[c.id] for c in cases]


async def ask(client: openai.AsyncOpenAI, context, item: Prepared, repair: bool) -> CaseResult:
    """The model's part (no database here: it runs in the event loop)."""
    case, rows = item.case, item.rows
    out = CaseResult(case, passed_before=passed(rows), tests=len(rows))
    try:
        result = await dispatcher.ask_for_hint(client, item.request, context)
    except GuardRejected as exc:
        out.schema_valid, out.usage, out.error = True, exc.spent, f"guard: {exc}"
        return out
    except InvalidAnswer as exc:
        out.usage, out.error = exc.spent, "the answer did not match the schema"
        return out
    except (PromptTooLong, StreamStalled, openai.APIError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"[:300]
        return out
    out.schema_valid = out.guard_passed = True
    out.usage, out.hint = result, result.answer.text()
    out.on_target = on_target(case, out.hint, result.answer.line())
    out.leaks = leaks(out.hint + " " + result.answer.concept, item.assignment, rows, case.code)
    if repair:
        try:
            item.repair_code = await propose_repair(
                client, settings.LLM_MODEL, item.request, out.hint, result, context
            )
        except (StreamStalled, openai.APIError) as exc:
            out.error = f"repair: {type(exc).__name__}"
        out.validated = False  # until the repair's own run says otherwise
    return out


def evaluate(
    cases: list[Case], assignments: dict[str, Assignment], repair: bool, concurrency: int
) -> list[CaseResult]:
    """Grade every program (sandbox), ask for every hint (concurrently), run every repair."""
    prepared = prepare(cases, assignments)

    async def hints() -> list[CaseResult]:
        gate = asyncio.Semaphore(concurrency)
        async with dispatcher._client() as client:
            info = await dispatcher.check_server(client, dispatcher.server_status())
            context = dispatcher.context_window(client, info)

            async def one(item: Prepared) -> CaseResult:
                async with gate:
                    return await ask(client, context, item, repair)

            return list(await asyncio.gather(*(one(item) for item in prepared)))

    results = asyncio.run(hints())
    for assignment in assignments.values():
        tried = [
            (item, out) for item, out in zip(prepared, results, strict=True) if item.repair_code is not None
        ]
        tried = [(item, out) for item, out in tried if item.assignment is assignment]
        programs, runnable = [], []
        for item, out in tried:
            try:
                job_for(assignment, {assignment.main_file: item.repair_code or ""})
            except ValueError:  # files the sandbox refuses (size, encoding): not a repair
                continue
            programs.append({assignment.main_file: item.repair_code or ""})
            runnable.append(out)
        for out, rows in zip(runnable, graded_many(assignment, programs), strict=True):
            out.validated = passed(rows) > out.passed_before
    return results


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def summary(results: list[CaseResult]) -> dict[str, str]:
    n = len(results)
    shown = [r for r in results if r.guard_passed]
    repaired = [r for r in results if r.validated is not None]
    usages = [r.usage for r in results if r.usage is not None]
    ttfts = sorted(u.ttft_seconds for u in usages if u.ttft_seconds is not None)
    latencies = sorted(u.latency_seconds for u in usages)

    def mean(values):
        return f"{statistics.mean(values):.2f}" if values else "–"

    def p95(values):
        return f"{values[min(len(values) - 1, int(0.95 * len(values)))]:.2f}" if values else "–"

    return {
        "programs": str(n),
        "schema-valid": _pct(sum(r.schema_valid for r in results), n),
        "guard pass": _pct(len(shown), n),
        "on the known bug (of hints shown)": _pct(sum(r.on_target for r in shown), len(shown)),
        "validated: the repair passes more tests (of repairs tried)": _pct(
            sum(bool(r.validated) for r in repaired), len(repaired)
        ),
        "hints with a leak": str(sum(bool(r.leaks) for r in results)),
        "model calls": str(sum(u.model_calls for u in usages)),
        "tokens per program: prompt / cached / completion": (
            f"{statistics.mean(u.prompt_tokens for u in usages):.0f} / "
            f"{statistics.mean(u.cached_tokens for u in usages):.0f} / "
            f"{statistics.mean(u.completion_tokens for u in usages):.0f}"
            if usages
            else "–"
        ),
        "time to first token s (mean / p95)": f"{mean(ttfts)} / {p95(ttfts)}",
        "latency per program s (mean / p95)": f"{mean(latencies)} / {p95(latencies)}",
        "errors (no answer from the server)": str(sum(r.usage is None for r in results)),
    }


def write_markdown(results: list[CaseResult], model: str, base_url: str) -> str:
    lines = [
        f"# Hint quality: {model}",
        "",
        f"Server: `{base_url}`",
        "",
        "| measure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in summary(results).items()]
    lines += [
        "",
        "| program | kind | tests passed | schema | guard | on the bug | leaks | validated | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        validated = "–" if r.validated is None else ("yes" if r.validated else "no")
        lines.append(
            f"| {r.case.id} | {r.case.kind} | {r.passed_before}/{r.tests} | {'yes' if r.schema_valid else 'no'} | "
            f"{'yes' if r.guard_passed else 'no'} | {'yes' if r.on_target else 'no'} | "
            f"{'; '.join(r.leaks) or 'none'} | {validated} | {r.error.replace('|', '/')[:120]} |"
        )
    return "\n".join(lines) + "\n"


def write_plots(results: list[CaseResult], folder: Path) -> list[Path]:
    """Per failure kind, the share of programs at each stage; and the latency distribution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({r.case.kind for r in results})
    stages = (
        ("schema-valid", lambda r: r.schema_valid),
        ("guard pass", lambda r: r.guard_passed),
        ("on the bug", lambda r: r.on_target),
        ("validated", lambda r: bool(r.validated)),
    )
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    width = 0.8 / len(stages)
    for i, (label, test) in enumerate(stages):
        shares = []
        for kind in kinds:
            mine = [r for r in results if r.case.kind == kind]
            shares.append(100 * sum(test(r) for r in mine) / len(mine))
        axes.bar([k + i * width for k in range(len(kinds))], shares, width, label=label)
    axes.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds, rotation=20)
    axes.set_ylabel("% of programs")
    axes.set_ylim(0, 100)
    axes.legend(fontsize=8)
    figure.tight_layout()
    paths = [folder / "hint-eval-by-kind.png"]
    figure.savefig(paths[0])
    plt.close(figure)

    latencies = [r.usage.latency_seconds for r in results if r.usage is not None]
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    axes.hist(latencies or [0], bins=15)
    axes.set_xlabel("latency per program (s)")
    axes.set_ylabel("programs")
    figure.tight_layout()
    paths.append(folder / "hint-eval-latency.png")
    figure.savefig(paths[1])
    plt.close(figure)
    return paths
