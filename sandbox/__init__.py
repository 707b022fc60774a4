"""Run students' code against tests in locked-down Docker containers.

A plain library with no Django import: ``run(job, image) -> Result``.
See sandbox/README.md for the threat model.
"""

from sandbox.runner import RUNTIMES, SandboxError, run
from sandbox.schema import (
    Compare,
    ExprSpec,
    IOSpec,
    Job,
    Limits,
    Outcome,
    PytestSpec,
    Result,
    RunStatus,
    Test,
    TestReport,
)

__all__ = [
    "RUNTIMES",
    "Compare",
    "ExprSpec",
    "IOSpec",
    "Job",
    "Limits",
    "Outcome",
    "PytestSpec",
    "Result",
    "RunStatus",
    "SandboxError",
    "Test",
    "TestReport",
    "run",
]
