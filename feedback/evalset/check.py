"""Check the hint-evaluation set: run every buggy program against the demo's tests, as the
sandbox would, and check the manifest.

    python feedback/evalset/check.py [--python /usr/bin/python3] [--quiet] [--table]

Standard library only, no Django, no Docker: each test runs in its own interpreter (``-I -B``)
in a fresh temporary folder holding the program as ``solution.py``, with 3 s of CPU time per
test (the sandbox's RLIMIT_CPU) and a wall-clock backstop for a program that blocks.

- ``binary-search`` (expression tests): import ``solution`` with stdin at end of file, copy the
  module's names, run the setup snippet in that copy (the test's scope: the module does not see
  its names), evaluate the expression there and compare strictly (``True`` is not ``1``).
- ``fizzbuzz``: the stdin/stdout tests run the file as ``__main__`` with the test's stdin and
  compare the output line by line with trailing whitespace ignored (the sandbox's default); the
  pytest test imports ``solution`` with stdin at end of file (so an ``input()`` outside the
  ``__main__`` guard raises EOFError, as in the sandbox), then runs the test file's functions
  against a stand-in module that looks the names up when they are called, as the sandbox does.

Then it asserts: every program fails at least one test, and the manifest agrees with the
files (one entry per file, lines in range, a file parses unless its kind is ``syntax``, the
outcomes fit the kind). The demo's reference solutions must pass every test. The demo's
references and tests are read from courses/demo.py (as text, never imported: that needs Django).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent.parent / "courses" / "demo.py"
TIME_LIMIT = 3  # seconds of CPU time per test, as the sandbox's RLIMIT_CPU
WALL_LIMIT = 3 * TIME_LIMIT  # a backstop for a program that blocks (tests run two or more at a time)
OUTPUT_CAP = 1 << 20  # bytes of a program's output kept (the rest is read and dropped)
KINDS = ("wrong_value", "exception", "timeout", "syntax", "import_time", "interface")
MINIMUM = {"binary-search": 18, "fizzbuzz": 16}
Test = tuple[Any, ...]  # a test as courses/demo.py lists it


# -- the demo's assignments, read from courses/demo.py as text (importing it needs Django) ----
def demo_constants() -> dict[str, Any]:
    """The literal constants of courses/demo.py (references, tests, the pytest file) and its
    setup snippet: the one source of what the demo's assignments are."""
    tree = ast.parse(DEMO.read_text(encoding="utf-8"))
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass  # not a literal (built by a function): not needed here
    found["SETUP"] = [
        ast.literal_eval(k.value)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        for k in call.keywords
        if k.arg == "setup_code" and isinstance(k.value, ast.Constant) and k.value.value
    ]
    return found


_DEMO = demo_constants()
[SEARCH_SETUP] = _DEMO["SETUP"]
SEARCH_REFERENCE: str = _DEMO["SEARCH_REFERENCE"]
SEARCH_TESTS: list[Test] = _DEMO["SEARCH_TESTS"]
FIZZ_REFERENCE: str = _DEMO["FIZZ_REFERENCE"]
FIZZ_PYTEST: str = _DEMO["FIZZ_PYTEST"]


def fizz_output(n: int) -> str:
    words = {0: "FizzBuzz", 3: "Fizz", 5: "Buzz", 6: "Fizz", 9: "Fizz", 10: "Buzz", 12: "Fizz"}
    return "".join(f"{words.get(i % 15, i)}\n" for i in range(1, n + 1))


FIZZ_TESTS = [
    ("n = 5", True, 1, "io", {"stdin": "5\n", "stdout": fizz_output(5)}),
    ("n = 15", True, 1, "io", {"stdin": "15\n", "stdout": fizz_output(15)}),
    ("n = 100", False, 2, "io", {"stdin": "100\n", "stdout": fizz_output(100)}),
    ("fizz() unit tests", False, 2, "pytest", {"source": FIZZ_PYTEST}),
]

# One test, in a fresh interpreter: argv = workdir, mode, spec (JSON), result file.
# The verdict goes to the result file, so nothing the program prints can be mistaken for it.
DRIVER = r"""
import ast, json, os, sys, traceback
workdir, mode, spec, result_path = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
time_limit = int(spec.pop("time_limit"))
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (time_limit, time_limit + 1))  # SIGXCPU ends a loop
except (ImportError, ValueError, OSError):
    pass
os.chdir(workdir)
sys.path.insert(0, workdir)


def done(**result):
    with open(result_path, "w") as handle:
        json.dump(result, handle)


def student_line(exc):
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename.startswith(workdir):
            line = lineno
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(workdir):
        line = exc.lineno
    return line


def plain_equal(expected, actual):
    # the sandbox's strict mode: an int equals an int or a float; otherwise the same type
    if type(expected) is int and type(actual) in (int, float):
        return expected == actual
    if type(expected) is not type(actual):
        return False
    if type(expected) in (list, tuple):
        return len(expected) == len(actual) and all(map(plain_equal, expected, actual))
    return expected == actual


class Remote:
    # the sandbox's RemoteModule: a name is looked up when it is called
    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            return getattr(self._module, name)(*args, **kwargs)

        return call


phase = "import"
try:
    if mode == "main":
        import runpy
        phase = "run"
        try:
            runpy.run_path(os.path.join(workdir, "solution.py"), run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        done(ok=True)
    elif mode == "expr":
        import importlib
        module = importlib.import_module("solution")
        phase = "call"
        namespace = dict(vars(module))
        exec(compile(spec["setup"], "<setup>", "exec"), namespace)
        value = eval(compile(spec["expr"], "<test>", "eval"), namespace)
        expected = ast.literal_eval(spec["expected"])
        done(ok=True, passed=plain_equal(expected, value), actual=repr(value)[:200])
    elif mode == "pytest":
        import importlib
        module = importlib.import_module("solution")
        phase = "call"
        sys.modules["solution"] = Remote(module)
        namespace = {"__name__": "test_solution"}
        exec(compile(spec["source"], "test_solution.py", "exec"), namespace)
        cases = {}
        for name, function in list(namespace.items()):
            if name.startswith("test_") and callable(function):
                try:
                    function()
                    cases[name] = "passed"
                except AssertionError:
                    cases[name] = "failed"
                except Exception as exc:
                    cases[name] = "error %s: %s" % (type(exc).__name__, str(exc)[:120])
        done(ok=True, passed=bool(cases) and all(v == "passed" for v in cases.values()), cases=cases)
except BaseException as exc:
    done(ok=False, phase=phase, error=type(exc).__name__, message=str(exc)[:200], line=student_line(exc))
    sys.exit(1)
"""


class Result:
    """One test's outcome: passed, failed (a wrong value or output), error or timeout."""

    def __init__(self, name: str, visible: bool, outcome: str, detail: str = "", **facts: object) -> None:
        self.name, self.visible, self.outcome, self.detail = name, visible, outcome, detail
        self.error = facts.get("error")
        self.phase = facts.get("phase")

    def letter(self) -> str:
        return {"passed": ".", "failed": "F", "error": "E", "timeout": "T"}[self.outcome]


def drain(stream: IO[bytes], keep: bytearray) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        if len(keep) < OUTPUT_CAP:
            keep.extend(chunk[: OUTPUT_CAP - len(keep)])


def run_one(python: str, source: str, mode: str, spec: dict[str, Any], stdin: str = "") -> dict[str, Any]:
    """Run one test in a fresh folder; return the driver's verdict plus stdout and a timeout flag."""
    folder = tempfile.mkdtemp(prefix="evalset-")
    try:
        work = os.path.join(folder, "work")
        os.mkdir(work)
        with open(os.path.join(work, "solution.py"), "w", encoding="utf-8") as handle:
            handle.write(source)
        result_path = os.path.join(folder, "result.json")
        spec = {**spec, "time_limit": TIME_LIMIT}
        command = [python, "-I", "-B", "-c", DRIVER, work, mode, json.dumps(spec), result_path]
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=work,
            start_new_session=True,
        )
        out, err = bytearray(), bytearray()
        readers = [
            threading.Thread(target=drain, args=(stream, keep), daemon=True)
            for stream, keep in ((process.stdout, out), (process.stderr, err))
        ]
        for reader in readers:
            reader.start()
        try:
            assert process.stdin is not None
            process.stdin.write(stdin.encode())
            process.stdin.close()  # end of file: an input() past the given lines raises EOFError
        except (BrokenPipeError, OSError):
            pass
        timed_out = False  # the CPU limit (SIGXCPU) or the wall-clock backstop
        try:
            process.wait(timeout=WALL_LIMIT)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        for reader in readers:
            reader.join(timeout=5)
        timed_out = timed_out or process.returncode == -signal.SIGXCPU
        verdict: dict[str, Any] = {}
        if os.path.exists(result_path) and not timed_out:
            with open(result_path, encoding="utf-8") as handle:
                verdict = json.load(handle)
        verdict.update(
            timed_out=timed_out,
            returncode=process.returncode,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
        )
        return verdict
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def trailing(text: str) -> str:
    """The sandbox's default output comparison: trailing whitespace of lines and text ignored."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def first_difference(expected: str, actual: str) -> str:
    want, got = trailing(expected).split("\n"), trailing(actual).split("\n")
    for number, (w, g) in enumerate(zip(want, got, strict=False), 1):
        if w != g:
            return "line %d: got %r, expected %r" % (number, g[:40], w[:40])
    return "%d lines, expected %d" % (len(got), len(want))


def judge(python: str, assignment: str, source: str, test: Test) -> Result:
    if assignment == "binary-search":
        name, visible, _, spec = test
        mode, stdin = "expr", ""
        spec = {"setup": SEARCH_SETUP, **spec}
    else:
        name, visible, _, mode, spec = test
        mode = {"io": "main", "pytest": "pytest"}[mode]
        stdin = spec.get("stdin", "")
    run = run_one(python, source, mode, spec, stdin)
    if run["timed_out"]:
        return Result(name, visible, "timeout", "over %ds of CPU time" % TIME_LIMIT)
    if not run.get("ok"):
        if "error" not in run:
            return Result(
                name, visible, "error", "exit status %s: %s" % (run["returncode"], run["stderr"][-200:])
            )
        where = " (line %s)" % run["line"] if run.get("line") and run["error"] != "SyntaxError" else ""
        detail = "%s at %s: %s%s" % (run["error"], run["phase"], run["message"], where)
        return Result(name, visible, "error", detail, error=run["error"], phase=run["phase"])
    if mode == "main":
        if trailing(spec["stdout"]) == trailing(str(run["stdout"])):
            return Result(name, visible, "passed")
        return Result(name, visible, "failed", first_difference(spec["stdout"], str(run["stdout"])))
    if run["passed"]:
        return Result(name, visible, "passed")
    if mode == "expr":
        return Result(name, visible, "failed", "got %s, expected %s" % (run["actual"], spec["expected"]))
    cases = run["cases"]
    failing = ", ".join("%s %s" % (case, verdict) for case, verdict in cases.items() if verdict != "passed")
    return Result(name, visible, "failed", failing or "no tests collected")


def tests_of(assignment: str) -> list[Test]:
    return list(SEARCH_TESTS if assignment == "binary-search" else FIZZ_TESTS)


def run_all(python: str, jobs: list[tuple[str, str, str]]) -> dict[str, list[Result]]:
    """jobs: (label, assignment, source); every test of every job runs in parallel."""
    work = [
        (label, assignment, source, test)
        for label, assignment, source in jobs
        for test in tests_of(assignment)
    ]
    with ThreadPoolExecutor(max_workers=max(2, min(16, (os.cpu_count() or 2)))) as pool:
        outcomes = list(pool.map(lambda item: judge(python, item[1], item[2], item[3]), work))
    results: dict[str, list[Result]] = {label: [] for label, _, _ in jobs}
    for (label, _, _, _), outcome in zip(work, outcomes, strict=True):
        results[label].append(outcome)
    return results


# -- the manifest ---------------------------------------------------------------------------
def manifest_problems(manifest: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(manifest, list):
        return ["manifest.json: not a list"]
    files = {str(p.relative_to(HERE).with_suffix("")) for a in MINIMUM for p in (HERE / a).glob("*.py")}
    ids = [entry.get("id") for entry in manifest if isinstance(entry, dict)]
    for missing in sorted(files - set(ids)):
        problems.append("%s.py: no manifest entry" % missing)
    for extra in sorted(set(ids) - files, key=str):
        problems.append("manifest: %s has no file" % extra)
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        problems.append("manifest: %s appears more than once" % duplicate)
    for assignment, least in MINIMUM.items():
        count = sum(1 for i in ids if str(i).startswith(assignment + "/"))
        if count < least:
            problems.append("%s: %d programs, at least %d wanted" % (assignment, count, least))
    fields = {"id", "assignment", "file", "bug", "bug_lines", "kind", "keywords"}
    for entry in manifest:
        if not isinstance(entry, dict):
            problems.append("manifest: an entry is not an object")
            continue
        name = entry.get("id", "?")
        if set(entry) != fields:
            problems.append("%s: fields %s, wanted %s" % (name, sorted(entry), sorted(fields)))
            continue
        if name.split("/")[0] != entry["assignment"] or entry["file"] != name + ".py":
            problems.append("%s: assignment or file does not match the id" % name)
        if entry["kind"] not in KINDS:
            problems.append("%s: unknown kind %r" % (name, entry["kind"]))
        if not isinstance(entry["bug"], str) or len(entry["bug"]) < 20:
            problems.append("%s: the bug needs a sentence" % name)
        keywords = entry["keywords"]
        if not (
            isinstance(keywords, list)
            and 1 <= len(keywords) <= 3
            and all(isinstance(k, str) and k for k in keywords)
        ):
            problems.append("%s: keywords must be 1 to 3 words" % name)
        path = HERE / entry["file"]
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        bug_lines = entry["bug_lines"]
        if not (isinstance(bug_lines, list) and bug_lines and all(type(n) is int for n in bug_lines)):
            problems.append("%s: bug_lines must be a list of line numbers" % name)
            continue
        for number in bug_lines:
            if not 1 <= number <= len(lines):
                problems.append("%s: bug line %d is outside the file (%d lines)" % (name, number, len(lines)))
            elif not lines[number - 1].strip():
                problems.append("%s: bug line %d is blank" % (name, number))
        if not 5 <= len(lines) <= 30:
            problems.append("%s: %d lines, 5 to 30 wanted" % (name, len(lines)))
        try:
            ast.parse(text, filename=entry["file"])
            if entry["kind"] == "syntax":
                problems.append("%s: kind is syntax but the file parses" % name)
        except SyntaxError as exc:
            if entry["kind"] != "syntax":
                problems.append(
                    "%s: does not parse (line %s) but kind is %s" % (name, exc.lineno, entry["kind"])
                )
            elif exc.lineno not in bug_lines:
                problems.append("%s: the syntax error is on line %s, not in bug_lines" % (name, exc.lineno))
    return problems


def kind_problem(kind: str, results: list[Result]) -> str | None:
    """Does what happened fit the kind the manifest gives?"""
    errors = [r for r in results if r.outcome == "error"]
    if kind == "timeout" and not any(r.outcome == "timeout" for r in results):
        return "kind timeout but no test timed out"
    if kind == "wrong_value" and not any(r.outcome == "failed" for r in results):
        return "kind wrong_value but no test got a wrong value or output"
    if kind == "syntax" and not all(r.error == "SyntaxError" for r in results):
        return "kind syntax but not every test stopped on a SyntaxError"
    if kind == "import_time" and not any(r.phase == "import" and r.error != "SyntaxError" for r in errors):
        return "kind import_time but no import failed"
    if kind == "exception" and not any(r.phase in ("run", "call") for r in errors):
        return "kind exception but no test raised one"
    return None


def demo_drift() -> list[str]:
    """The FizzBuzz stdin/stdout tests are rebuilt here (courses/demo.py computes their output):
    their inputs must still be the demo's."""
    text = DEMO.read_text(encoding="utf-8")
    missing = [n for n in ("5\\n", "15\\n", "100\\n") if '"stdin": "%s"' % n not in text]
    return ["the fizzbuzz stdin %s is no longer in courses/demo.py" % n for n in missing]


def line_for(label: str, kind: str, results: list[Result], width: int) -> str:
    """One program: a mark per test, then what went wrong, tests with the same outcome grouped."""
    marks = "".join(r.letter() for r in results)
    groups: dict[str, list[str]] = {}
    for r in results:
        if r.outcome != "passed":
            groups.setdefault("%s %s" % (r.outcome, r.detail), []).append(r.name + ("" if r.visible else "*"))
    if len(results) > 1 and [len(names) for names in groups.values()] == [len(results)]:
        groups = {what: ["all"] for what in groups}
    failing = "; ".join("%s: %s" % (", ".join(names), what) for what, names in groups.items())
    return "  %-*s %-11s %s  %s" % (width, label, kind, marks, failing or "passes all")


def table(entries: list[dict[str, Any]], results: dict[str, list[Result]]) -> list[str]:
    """README.md's table of the programs (``--table`` prints it; the check keeps the README in step)."""
    rows = ["| id | kind | fails (* hidden) | bug |", "|---|---|---|---|"]
    for e in entries:
        failing = [r.name + ("" if r.visible else "*") for r in results[e["id"]] if r.outcome != "passed"]
        cells = ["`%s`" % e["id"], e["kind"], ", ".join(failing), e["bug"]]
        rows.append("| %s |" % " | ".join(c.replace("|", "\\|") for c in cells))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the programs")
    parser.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    parser.add_argument("--table", action="store_true", help="also print README.md's table of the programs")
    args = parser.parse_args()
    problems = demo_drift()
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    problems += manifest_problems(manifest)
    entries = [e for e in manifest if isinstance(e, dict) and (HERE / str(e.get("file"))).exists()]
    jobs = [("reference", "binary-search", SEARCH_REFERENCE), ("reference ", "fizzbuzz", FIZZ_REFERENCE)]
    jobs += [(e["id"], e["assignment"], (HERE / e["file"]).read_text(encoding="utf-8")) for e in entries]
    results = run_all(args.python, jobs)
    version = subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip()
    print(
        "interpreter: %s (%s), %ds of CPU time per test (%ds wall-clock backstop)\n"
        "marks: . passed  F failed (wrong value or output)  E error  T timeout;  * a hidden test"
        % (args.python, version, TIME_LIMIT, WALL_LIMIT)
    )
    width = max(len(label) for label, _, _ in jobs)
    for assignment in MINIMUM:
        tests = tests_of(assignment)
        if not args.quiet:
            names = ", ".join(t[0] + ("" if t[1] else "*") for t in tests)
            print("\n%s (%d tests: %s)" % (assignment, len(tests), names))
        for label, owner, _ in jobs:
            if owner != assignment:
                continue
            kind = (
                "" if label.startswith("reference") else next(e["kind"] for e in entries if e["id"] == label)
            )
            if not args.quiet:
                print(line_for(label.strip(), kind, results[label], width))
            if label.startswith("reference"):
                problems.extend(
                    "%s reference: %s %s %s" % (assignment, r.name, r.outcome, r.detail)
                    for r in results[label]
                    if r.outcome != "passed"
                )
                continue
            if all(r.outcome == "passed" for r in results[label]):
                problems.append("%s: passes every test (a program of the set must have a bug)" % label)
            problem = kind_problem(kind, results[label])
            if problem:
                problems.append("%s: %s" % (label, problem))
    readme = (HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else ""
    rows = table(entries, results)
    if args.table:
        print("\n" + "\n".join(rows))
    readme_rows = set(readme.splitlines())
    problems.extend(
        "README.md: the row of %s is missing or out of date (check.py --table prints it)" % e["id"]
        for e, row in zip(entries, rows[2:], strict=True)
        if row not in readme_rows
    )
    print()
    if problems:
        print("PROBLEMS:\n" + "\n".join("  " + p for p in problems))
        return 1
    print("%d programs, all fail at least one test; references pass all tests" % len(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
