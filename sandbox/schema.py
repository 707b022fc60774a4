"""The sandbox's contract: what a job carries in, what a result carries out.

Both sides are validated: a job before it is sent, and the harness's answer
before the caller sees it (sizes capped, unknown outcomes refused).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sandbox.harness import plaindata

FILE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9]+)?$")
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_FILES = 20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_WALL_SECONDS = 1800.0


class Limits(Strict):
    """Resource limits of one submission's run. Defaults follow common graders' practice."""

    cpus: float = Field(1.0, gt=0, le=8)
    memory_mb: int = Field(256, ge=32, le=8192)
    pids: int = Field(64, ge=16, le=4096)
    wall_seconds: float = Field(60.0, gt=0, le=MAX_WALL_SECONDS)
    output_bytes: int = Field(64 * 1024, ge=1024, le=4 * 1024 * 1024)
    file_size_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    open_files: int = Field(64, ge=16, le=4096)
    tmpfs_mb: int = Field(32, ge=1, le=1024)


class Compare(str, Enum):
    EXACT = "exact"
    TRAILING = "trailing"
    WHITESPACE = "whitespace"
    NUMERIC = "numeric"
    REGEX = "regex"


Equality = Literal["strict", "python"]
SetupScope = Literal["test", "module"]
INT_TOLERANCE_HELP = (
    "Apply the tolerance to integer expectations too. Off (the default): an expected integer "
    "must match exactly, and a tolerance applies only where the expected value is a float."
)


class IOSpec(Strict):
    kind: Literal["io"] = "io"
    stdin: str = ""
    stdout: str
    compare: Compare = Compare.TRAILING
    rel_tol: float = Field(1e-9, ge=0)
    abs_tol: float = Field(0.0, ge=0)
    int_tolerance: bool = Field(False, description=INT_TOLERANCE_HELP)

    @model_validator(mode="after")
    def _regex_compiles(self) -> IOSpec:
        if self.compare == Compare.REGEX:
            try:
                re.compile(self.stdout)
            except re.error as exc:
                raise ValueError(f"expected output is not a valid regular expression: {exc}") from exc
        return self


class ExprSpec(Strict):
    kind: Literal["expr"] = "expr"
    expr: str = Field(min_length=1, max_length=100_000)
    expected: str = Field(min_length=1, max_length=1_000_000)
    rel_tol: float = Field(1e-9, ge=0)
    abs_tol: float = Field(0.0, ge=0)
    int_tolerance: bool = Field(False, description=INT_TOLERANCE_HELP)
    equality: Equality | None = Field(
        None,
        description="strict: a bool is not a number, a list is not a tuple; python: Python's own "
        "==. Empty: the assignment's choice.",
    )

    @field_validator("expr")
    @classmethod
    def _expr_parses(cls, value: str) -> str:
        try:
            compile(value, "<test>", "eval")
        except SyntaxError as exc:
            raise ValueError(f"expression does not parse: {exc.msg}") from exc
        return value

    @field_validator("expected")
    @classmethod
    def _expected_is_literal(cls, value: str) -> str:
        try:
            plaindata.parse_literal(value)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ValueError(f"expected value is not a Python literal: {exc}") from exc
        return value


class PytestSpec(Strict):
    kind: Literal["pytest"] = "pytest"
    source: str = Field(min_length=1, max_length=1_000_000)

    @field_validator("source")
    @classmethod
    def _source_parses(cls, value: str) -> str:
        try:
            compile(value, "<pytest file>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"pytest file does not parse (line {exc.lineno}): {exc.msg}") from exc
        return value


Spec = Annotated[IOSpec | ExprSpec | PytestSpec, Field(discriminator="kind")]


class Test(Strict):
    __test__: ClassVar[bool] = False  # not a pytest test class

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    spec: Spec
    points: float = Field(1.0, ge=0)
    time_limit: float = Field(10.0, gt=0, le=600)
    visible: bool = True


class Job(Strict):
    """One submission to run: its files, the tests and the limits."""

    language: Literal["python"] = "python"
    files: dict[str, str]
    module: str = "solution"
    main: str | None = None
    setup_code: str = ""
    setup_scope: SetupScope = "test"
    equality: Equality = "strict"
    tests: list[Test] = Field(min_length=1, max_length=500)
    limits: Limits = Limits()

    @field_validator("files")
    @classmethod
    def _files_are_safe(cls, files: dict[str, str]) -> dict[str, str]:
        if not files:
            raise ValueError("a submission needs at least one file")
        if len(files) > MAX_FILES:
            raise ValueError(f"at most {MAX_FILES} files")
        for name, text in files.items():
            if not FILE_NAME.match(name) or len(name) > 100:
                raise ValueError(f"unsafe file name {name!r}")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{name} is not valid UTF-8 text") from None
        return files

    @field_validator("module")
    @classmethod
    def _module_is_identifier(cls, value: str) -> str:
        if not MODULE_NAME.match(value):
            raise ValueError(f"module name {value!r} is not a Python identifier")
        return value

    @model_validator(mode="after")
    def _ids_unique(self) -> Job:
        ids = [t.id for t in self.tests]
        if len(ids) != len(set(ids)):
            raise ValueError("test ids must be unique")
        return self

    @property
    def uses_pytest(self) -> bool:
        return any(t.spec.kind == "pytest" for t in self.tests)

    @property
    def main_file(self) -> str:
        return self.main or f"{self.module}.py"


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"


class RunStatus(str, Enum):
    OK = "ok"  # the tests ran; outcomes are the student's
    INFRA_ERROR = "infra_error"  # the platform failed; retry, never charge the student


def _clipped(limit: int) -> BeforeValidator:
    """A text field that is cut to ``limit`` characters instead of refused: what a student's
    code produced must never turn a result into a platform failure."""

    def clip(value: object) -> object:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 14] + "...[truncated]"
        return value

    return BeforeValidator(clip)


class StudentError(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Annotated[str, _clipped(200)]
    message: Annotated[str, _clipped(4000)] = ""
    line: int | None = None
    file: Annotated[str | None, _clipped(200)] = None
    traceback: Annotated[str, _clipped(16_000)] = ""


class TestReport(BaseModel):
    __test__: ClassVar[bool] = False

    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    outcome: Outcome
    points: float
    points_earned: float
    duration: float = 0.0
    message: Annotated[str, _clipped(4000)] = ""
    expected: str | None = None
    actual: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    error: StudentError | None = None
    cases: list[dict] = Field(default_factory=list, max_length=1000)


class Result(BaseModel):
    status: RunStatus
    tests: list[TestReport] = Field(default_factory=list)
    message: str = ""
    duration: float = 0.0

    @property
    def score(self) -> float:
        return sum(t.points_earned for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)
