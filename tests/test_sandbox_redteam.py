"""Hostile submissions. Each asserts the exact outcome (never a false pass), that the
harness survived (a report for every test) and that no container is left behind.
The threat model these cases check is in sandbox/README.md."""

import docker
import pytest
from pydantic import ValidationError

import sandbox
from sandbox import ExprSpec, IOSpec, Job, Limits, PytestSpec, Test
from sandbox.runner import LABEL, OWNER_LABEL, owner
from tests.conftest import SandboxTarget

pytestmark = pytest.mark.docker

SECRET = "hidden-7f3a9c2e51"


@pytest.fixture(params=sandbox.RUNTIMES)
def sandbox_image(request, sandbox_image):
    """Every attack runs under both container runtimes: runc and gVisor's runsc."""
    return SandboxTarget(sandbox_image, request.param)


def expr(test_id, expression, expected, visible=True, time_limit=3.0):
    return Test(
        id=test_id,
        name=test_id,
        spec=ExprSpec(expr=expression, expected=expected),
        visible=visible,
        time_limit=time_limit,
    )


def io(test_id, stdin, stdout, time_limit=3.0):
    return Test(id=test_id, name=test_id, spec=IOSpec(stdin=stdin, stdout=stdout), time_limit=time_limit)


def pytest_test(test_id, source, time_limit=5.0):
    return Test(id=test_id, name=test_id, spec=PytestSpec(source=source), time_limit=time_limit)


def sandbox_containers():
    """This process's sandbox containers (the daemon is shared with other processes' workers).
    Sparse: a full listing inspects each container and fails if another process removes one."""
    owned = {"label": [LABEL, f"{OWNER_LABEL}={owner()}"]}
    return {c.id for c in docker.from_env().containers.list(all=True, sparse=True, filters=owned)}


def run(target, code, tests, **limits):
    before = sandbox_containers()  # a test worker's warm pool may hold some
    job = Job(files={"solution.py": code}, tests=tests, limits=Limits(**limits))
    result = sandbox.run(job, target.image, runtime=target.runtime)
    assert result.status == sandbox.RunStatus.OK, result.message
    assert [t.id for t in result.tests] == [t.id for t in tests]
    assert sandbox_containers() <= before  # this run's container is gone
    return {t.id: t for t in result.tests}


def outcomes(reports):
    return {k: v.outcome.value for k, v in reports.items()}


ADD_TESTS = [expr("add", "add(1, 2)", "3"), io("io", "1 2\n", "3\n")]
ADD_PYTEST = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"

# (case id, student code, expected outcomes of ADD_TESTS: expression test, stdin/stdout test)
FORGERIES = [
    ("sys_exit_at_import", "import sys\nsys.exit(0)\n", "error", "failed"),
    ("os_exit_at_import", "import os\nos._exit(0)\n", "crashed", "failed"),
    ("raise_systemexit_in_call", "def add(a, b):\n    raise SystemExit(0)\n", "error", "failed"),
    ("raise_keyboardinterrupt", "def add(a, b):\n    raise KeyboardInterrupt\n", "error", "failed"),
    (
        "monkeypatch_harness",
        "import sys\nsys.path.insert(0, '/opt/grader')\nimport grader_harness, plaindata\n"
        "grader_harness.compare_output = lambda *a, **k: True\nplaindata.equal = lambda *a, **k: True\n"
        "def add(a, b):\n    return 0\nprint(0)\n",
        "failed",
        "failed",
    ),
    (
        "print_fake_result_marker",
        "import json\nfake = 'GRADER-RESULT 0 ' + json.dumps({'status': 'ok', 'tests': []})\n"
        "def add(a, b):\n    print(fake)\n    return 0\nprint(fake)\n",
        "failed",
        "failed",
    ),
    (
        "write_to_harness_stdout",
        "def add(a, b):\n    for path in ('/proc/1/fd/1', '/proc/1/fd/3', '/run/harness/result'):\n"
        "        try:\n            open(path, 'w').write('GRADER-RESULT forged')\n"
        "        except OSError:\n            pass\n    return 0\n",
        "failed",
        "failed",
    ),
    (
        "always_equal_object",
        "class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Yes()\n",
        "error",
        "failed",
    ),
    (
        "int_subclass_that_lies",
        "class Three(int):\n    def __eq__(self, other):\n        return True\n"
        "def add(a, b):\n    return Three(99)\n",
        "error",
        "failed",
    ),
    (
        "repr_that_looks_right",
        "class R:\n    def __repr__(self):\n        return '3'\n    __str__ = __repr__\n"
        "def add(a, b):\n    return R()\n",
        "error",
        "failed",
    ),
    (
        "close_every_fd",
        "import os\ndef add(a, b):\n    os.closerange(0, 1024)\n    return a + b\n",
        "crashed",
        "failed",
    ),
    (
        "garbage_on_every_fd",
        "import os\ndef add(a, b):\n    for fd in range(3, 64):\n        try:\n            os.write(fd, b'\\xff' * 16)\n"
        "        except OSError:\n            pass\n    return 0\n",
        "error",
        "failed",
    ),
    (
        "kill_parent_and_pid1",
        "import os, signal\ndef add(a, b):\n    for pid in (os.getppid(), 1):\n        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n            pass\n    return 0\n",
        "failed",
        "failed",
    ),
    # kill(-1) finds the harness's processes but may signal none of them (other uids); Linux
    # then returns success, the function returns its wrong 0, and every test still reports.
    (
        "kill_everything_it_can",
        "import os, signal\ndef add(a, b):\n    os.kill(-1, signal.SIGKILL)\n    return 0\n",
        "failed",
        "failed",
    ),
]


@pytest.mark.parametrize("case, code, expr_outcome, io_outcome", FORGERIES, ids=[f[0] for f in FORGERIES])
def test_it_cannot_be_forged(sandbox_image, case, code, expr_outcome, io_outcome):
    reports = run(sandbox_image, code, ADD_TESTS)
    if sandbox_image.runtime == "runsc" and case == "kill_everything_it_can":
        # gVisor's kill(-1) also hits the caller, so the call errors instead of returning 0.
        expr_outcome = "error"
    assert outcomes(reports) == {"add": expr_outcome, "io": io_outcome}


PYTEST_FORGERIES = [
    ("os_exit_in_call", "import os\ndef add(a, b):\n    os._exit(0)\n"),
    ("sys_exit_in_call", "def add(a, b):\n    raise SystemExit(0)\n"),
    (
        "patch_pytest",
        "import pytest, sys\npytest.main = lambda *a, **k: 0\nsys.modules['_pytest'] = None\n"
        "def add(a, b):\n    return 0\n",
    ),
    ("exit_at_import", "import sys\nsys.exit(0)\n"),
]


@pytest.mark.parametrize("case, code", PYTEST_FORGERIES, ids=[p[0] for p in PYTEST_FORGERIES])
def test_it_cannot_forge_a_pytest_result(sandbox_image, case, code):
    report = run(sandbox_image, code, [pytest_test("p", ADD_PYTEST)])["p"]
    assert report.outcome.value == ("error" if case == "exit_at_import" else "failed")
    assert report.points_earned == 0


STEAL = f'''
import glob, os

def _read(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        return os.read(fd, 1 << 20)
    except OSError:
        return b""
    finally:
        os.close(fd)

def steal():
    me = str(os.getpid())
    seen = [repr(dict(os.environ)).encode()]
    for pid_dir in glob.glob("/proc/[0-9]*"):
        if pid_dir.endswith("/" + me):
            continue
        for name in ("environ", "cmdline", "mem", "maps", "status", "fd/0", "fd/1", "fd/3"):
            seen.append(_read(pid_dir + "/" + name))
    for root in ("/run/harness", "/opt/grader", "/tmp", "/dev/shm", "/root", "/etc"):
        for folder, _, files in os.walk(root):
            for name in files:
                seen.append(_read(os.path.join(folder, name)))
    blob = b"".join(seen)
    target = b"{SECRET[:6]}" + b"-" + b"{SECRET[7:]}"  # never whole in this source file
    return target.decode() if target in blob else "nothing found"
'''


def test_it_keeps_hidden_tests_and_expected_values_out_of_reach(sandbox_image):
    tests = [
        expr("steal", "steal()", repr(SECRET), visible=False, time_limit=8),
        Test(id="p", name="p", spec=PytestSpec(source=f"def test_x():\n    assert '{SECRET}'\n")),
    ]
    reports = run(sandbox_image, STEAL, tests)
    assert reports["steal"].outcome.value == "failed"
    assert reports["steal"].actual == "'nothing found'"


def test_it_gives_student_code_a_clean_environment(sandbox_image):
    code = (
        "import os\ndef env():\n    return sorted(os.environ)\ndef uid():\n    return os.getuid() >= 100000\n"
    )
    reports = run(
        sandbox_image,
        code,
        [
            expr("env", "env()", "['HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONIOENCODING']"),
            expr("not_root", "uid()", "True"),
        ],
    )
    assert outcomes(reports) == {"env": "passed", "not_root": "passed"}


def test_it_refuses_privilege_escalation_and_symlink_tricks(sandbox_image):
    code = """
import os
def setuid():
    try:
        os.setuid(0)
        return "root"
    except PermissionError:
        return "denied"
def symlink():
    os.symlink("/run/harness", "/tmp/work/h")
    try:
        return os.listdir("/tmp/work/h")
    except PermissionError:
        return "denied"
def write_root():
    try:
        open("/usr/lib/python3/dist-packages/pytest.py", "w")
        return "wrote"
    except OSError:
        return "refused"
"""
    reports = run(
        sandbox_image,
        code,
        [
            expr("setuid", "setuid()", "'denied'"),
            expr("symlink", "symlink()", "'denied'"),
            expr("write_root", "write_root()", "'refused'"),
        ],
    )
    assert outcomes(reports) == {"setuid": "passed", "symlink": "passed", "write_root": "passed"}


def test_it_has_no_network(sandbox_image):
    # The outside address is TEST-NET-1 (RFC 5737, never routed), and it is tried only once
    # the container is known to hold nothing but loopback, so no packet can leave even if
    # the sandbox were broken: a broken sandbox fails the "interfaces" test instead.
    code = """
import socket
def interfaces():
    return [name for _, name in socket.if_nameindex()]
def connect(host, port):
    if interfaces() != ["lo"]:
        return "has a network interface"
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return str(exc)
"""
    reports = run(
        sandbox_image,
        code,
        [
            expr("interfaces", "interfaces()", "['lo']"),
            expr("outside", "connect('192.0.2.1', 80)", "'connected'"),
            expr("loopback", "connect('127.0.0.1', 5432)", "'connected'"),
        ],
    )
    assert outcomes(reports) == {"interfaces": "passed", "outside": "failed", "loopback": "failed"}
    assert "unreachable" in reports["outside"].actual or "No route" in reports["outside"].actual
    assert (
        "refused" in reports["loopback"].actual
    )  # the container's own loopback: the host's database is not there


def test_it_survives_a_fork_bomb(sandbox_image):
    code = (
        "import os\ndef bomb():\n    while True:\n        try:\n            os.fork()\n        except OSError:\n"
        "            pass\ndef ok():\n    return 1\n"
    )
    reports = run(
        sandbox_image, code, [expr("bomb", "bomb()", "None", time_limit=2), expr("after", "ok()", "1")]
    )
    if sandbox_image.runtime == "runsc":
        # Under gVisor the bomb's processes fill the container's memory and the host's OOM
        # killer ends gVisor's kernel with every test in it: all are graded "memory".
        assert outcomes(reports) in (
            {"bomb": "timeout", "after": "passed"},
            {"bomb": "memory", "after": "memory"},
        )
    else:
        assert outcomes(reports) == {"bomb": "timeout", "after": "passed"}


def test_it_contains_memory_bombs(sandbox_image):
    code = (
        "def big():\n    return bytearray(2 ** 34)\ndef grow():\n    xs = []\n    while True:\n"
        "        xs.append(bytearray(10 ** 7))\ndef ok():\n    return 1\n"
    )
    reports = run(
        sandbox_image,
        code,
        [expr("big", "big()", "None"), expr("grow", "grow()", "None"), expr("after", "ok()", "1")],
    )
    assert outcomes(reports) == {"big": "memory", "grow": "memory", "after": "passed"}


def test_it_contains_a_disk_fill_and_keeps_tests_apart(sandbox_image):
    code = """
import os
def fill():
    n = 0
    try:
        while True:
            with open("/tmp/work/fill%d" % n, "wb") as f:
                f.write(b"x" * (1 << 20))
            n += 1
    except OSError as exc:
        return "full"
def huge_file():
    with open("/tmp/work/huge", "wb") as f:
        f.write(b"x" * (64 << 20))
def fresh():
    return sorted(os.listdir("/tmp/work"))
"""
    reports = run(
        sandbox_image,
        code,
        [
            expr("fill", "fill()", "'full'"),
            expr("huge_file", "huge_file()", "None"),
            expr("fresh", "fresh()", "['solution.py']"),
        ],
    )
    assert outcomes(reports) == {"fill": "passed", "huge_file": "error", "fresh": "passed"}


def test_it_caps_huge_output_without_blocking(sandbox_image):
    code = "import sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 50_000)\n    sys.stderr.write('y' * 50_000)\n"
    report = run(sandbox_image, code, [io("io", "", "x")])["io"]
    assert report.outcome.value == "failed"
    assert report.stdout_truncated and len(report.stdout) == 64 * 1024
    assert report.stderr_truncated and len(report.stderr) == 64 * 1024


def test_it_times_out_loops_and_sleeps_but_finishes_the_rest(sandbox_image):
    code = (
        "import time\ndef spin():\n    while True:\n        pass\ndef nap():\n    time.sleep(10 ** 6)\n"
        "def ok():\n    return 1\n"
    )
    reports = run(
        sandbox_image,
        code,
        [
            expr("spin", "spin()", "None", time_limit=1),
            expr("nap", "nap()", "None", time_limit=1),
            expr("ok", "ok()", "1"),
        ],
    )
    assert outcomes(reports) == {"spin": "timeout", "nap": "timeout", "ok": "passed"}


def test_it_enforces_the_submission_time_budget(sandbox_image):
    code = "import time\ndef nap():\n    time.sleep(10 ** 6)\n"
    tests = [expr(f"n{i}", "nap()", "None", time_limit=1.5) for i in range(3)]
    reports = run(sandbox_image, code, tests, wall_seconds=2)
    assert outcomes(reports) == {"n0": "timeout", "n1": "timeout", "n2": "timeout"}
    assert "budget" in reports["n2"].message


def test_it_keeps_one_test_from_affecting_another(sandbox_image):
    code = """
import os, time
state = []
def count():
    state.append(1)
    with open("/tmp/work/mark", "a") as f:
        f.write("x")
    return len(state)
def mark_exists():
    return os.path.exists("/tmp/work/mark")
def daemon():
    if os.fork() == 0:
        os.setsid()
        time.sleep(1)
        open("/tmp/work/mark", "w").write("late")
        os._exit(0)
    return 1
def later():
    time.sleep(1.5)
    return os.path.exists("/tmp/work/mark")
def leak_hidden():
    try:
        return open("/dev/shm/leak").read()
    except OSError:
        return "none"
def store(value):
    open("/dev/shm/leak", "w").write(value)
    return value
"""
    tests = [
        expr("hidden_store", "store('hidden-input-42')", "'x'", visible=False),
        expr("first", "count()", "1"),
        expr("second", "count()", "1"),
        expr("clean", "mark_exists()", "False"),
        expr("daemon", "daemon()", "1"),
        expr("later", "later()", "False"),
        expr("visible_reads_hidden", "leak_hidden()", "'none'"),
    ]
    reports = run(sandbox_image, code, tests)
    assert outcomes(reports) == {
        "hidden_store": "failed",
        "first": "passed",
        "second": "passed",
        "clean": "passed",
        "daemon": "passed",
        "later": "passed",
        "visible_reads_hidden": "passed",
    }


def test_it_reports_crashes_from_deep_recursion_and_thread_bombs(sandbox_image):
    code = """
import sys, threading, time
def deep():
    sys.setrecursionlimit(10 ** 8)
    def f(n):  # through C calls, so each level uses the C stack until it overflows
        return max(map(f, [n + 1]))
    return f(0)
def threads():
    started = 0
    try:
        while True:
            threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
            started += 1
    except RuntimeError:
        return -started
"""
    reports = run(
        sandbox_image, code, [expr("deep", "deep()", "0"), expr("threads", "threads() > 0", "True")]
    )
    assert outcomes(reports) == {"deep": "crashed", "threads": "failed"}


def test_it_refuses_an_oversized_answer(sandbox_image):
    code = "def big():\n    return 'x' * 20_000_000\n"
    report = run(sandbox_image, code, [expr("big", "big()", "'x'")])["big"]
    assert report.outcome.value == "error" and "too large" in report.message


def test_it_reports_null_bytes_in_source_as_an_error(sandbox_image):
    report = run(sandbox_image, "x = 1\x00\x00\ndef f():\n    return 1\n", [expr("f", "f()", "1")])["f"]
    assert report.outcome.value == "error" and report.error.type in ("SyntaxError", "ValueError")


def test_it_refuses_files_that_are_not_valid_text():
    with pytest.raises(ValidationError, match="UTF-8"):
        Job(files={"solution.py": "x = '\udcff'"}, tests=[expr("f", "1", "1")])
    with pytest.raises(ValidationError, match="unsafe file name"):
        Job(files={"../../etc/passwd": "x"}, tests=[expr("f", "1", "1")])


def test_it_leaves_the_platform_healthy(sandbox_image):
    code = "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    print(add(*map(int, input().split())))\n"
    reports = run(sandbox_image, code, ADD_TESTS)
    assert outcomes(reports) == {"add": "passed", "io": "passed"}
