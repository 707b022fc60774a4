"""The shapes of what the harness reads and writes, for the type checker only.

The other harness files import this module under ``if TYPE_CHECKING:`` (with a local
``TYPE_CHECKING = False``), so the harness never loads it, nor ``typing``, at run time.
Stdlib only, like the rest of the folder.

Trust: the job (from the runner) and the init and call frames (from the harness) are trusted;
everything a student process sends back is not, and is typed ``object`` where it is read.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

Outcome = Literal["passed", "failed", "error", "timeout", "memory", "crashed"]
Kind = Literal["io", "expr", "pytest"]
Mode = Literal["main", "expr", "serve"]

# A value that json.dumps accepts and json.loads gives back.
JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
# A plain value as the student's code or the expected-value literal made it: any of the exact
# builtin types plaindata accepts. The comparison checks each value's type itself
# (``type(x) is ...``), which a static type cannot follow, so this is ``Any``.
Plain: TypeAlias = Any


# -- the job (runner -> harness: sandbox.runner.job_message) ------------------------------------
class Limits(TypedDict):
    cpus: float
    memory_mb: int
    pids: int
    wall_seconds: float
    output_bytes: int
    file_size_bytes: int
    open_files: int
    tmpfs_mb: int


class Spec(TypedDict, total=False):
    """One test's spec: the keys of its kind (sandbox.schema's IOSpec, ExprSpec, PytestSpec)."""

    kind: Required[Kind]
    stdin: str
    stdout: str
    compare: str
    rel_tol: float
    abs_tol: float
    int_tolerance: bool
    equality: str | None
    expr: str
    expected: str
    source: str


class Test(TypedDict):
    id: str
    name: str
    kind: Kind
    spec: Spec
    points: float
    time_limit: float
    visible: bool


class RunningTest(Test):
    uid: int  # the user this test's processes run as


class Paths(TypedDict, total=False):
    private: str
    scratch: list[str]
    workdir: str


class Job(TypedDict):
    language: str
    files: dict[str, str]
    module: str
    main: str
    setup_code: str
    setup_scope: Literal["test", "module"]
    equality: Literal["strict", "python"]
    tests: list[Test]
    limits: Limits
    token: str
    student_uid: int
    paths: NotRequired[Paths]  # the bare-subprocess benchmark's own folders


# -- harness <-> spawner ------------------------------------------------------------------------
class SpawnRequest(TypedDict):
    uid: int
    cwd: str
    env: dict[str, str]


class SpawnReply(TypedDict, total=False):
    pid: int
    error: str
    status: int  # a waitpid status, in a later frame


# -- harness -> student process -----------------------------------------------------------------
class StudentLimits(TypedDict):
    memory_bytes: int
    nproc: int
    cpu_seconds: int
    file_size_bytes: int
    open_files: int


class Init(TypedDict):
    mode: Mode
    files: dict[str, str]
    module: str
    main: str
    setup: str
    setup_scope: str
    limits: StudentLimits
    workdir: str
    expr: NotRequired[str]


class CallRequest(TypedDict):
    """A call from an instructor's pytest file, arguments in plaindata's encoding."""

    name: str
    args: JSON
    kwargs: JSON


# -- student process -> harness (what an honest student_boot sends; the harness trusts none) ----
class ErrorInfo(TypedDict):
    type: str
    message: str
    line: int | None
    file: NotRequired[str | None]
    traceback: NotRequired[str]


class Answer(TypedDict, total=False):
    ok: Required[bool]
    value: JSON
    error: ErrorInfo


# -- harness -> runner (one report per test; sandbox.schema.TestReport) -------------------------
class CleanError(TypedDict):
    """A student's exception as the harness keeps it: every field checked and clipped."""

    type: str
    message: str
    line: int | None
    file: str | None
    traceback: str


class Case(TypedDict):
    """One check of an instructor's pytest file."""

    name: str
    outcome: str
    when: str
    detail: str


class Streams(TypedDict):
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool


class ReportFields(TypedDict, total=False):
    """What a caller adds to a report (the error is raw: verdict.report cleans it)."""

    message: str
    expected: str | None
    actual: str | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    cases: list[Case]
    duration: float


class Report(TypedDict):
    id: str
    name: str
    outcome: Outcome
    points: float
    points_earned: float
    message: str
    expected: str | None
    actual: str | None
    error: CleanError | None
    stdout: NotRequired[str]
    stderr: NotRequired[str]
    stdout_truncated: NotRequired[bool]
    stderr_truncated: NotRequired[bool]
    cases: NotRequired[list[Case]]
    duration: NotRequired[float]
