"""Red team, class "hidden inputs leak through what the code produced": student code encodes a
hidden test's argument in whatever it does during that test (exception type, message, line,
output, an answer frame it writes itself, its run time). Graded for real (the sandbox runs),
then every surface a student reaches is read: the page, its live part, the API with the
student's session, the webhook payload, the automatic hint (text, line, concept) and the
prompt the model would get. None may carry the hidden argument; hidden durations are not
shown. With the assignment's show_hidden_details on, the details are the student's to see."""

import json
import re

import pytest
from django.urls import reverse

from courses.models import Assignment, TestCase
from feedback.dispatcher import _store_fallback, hint_request
from feedback.llm import build_messages
from feedback.models import Feedback
from grading import run as grading
from grading.models import Submission
from webhooks.services import graded_payload

pytestmark = [pytest.mark.django_db, pytest.mark.docker]

WORD, NUMBER = "zq7351", 4817  # the hidden tests' secret arguments
PAD = "\n" * 6000  # the file is long enough that line 4817 exists in it

ENCODINGS = {
    "exception type": "def probe(x):\n    raise type('Leak' + str(x), (Exception,), {})('boom')\n",
    "exception message": "def probe(x):\n    raise ValueError('got %s' % (x,))\n",
    "line number": "def probe(x):\n    if isinstance(x, int):\n"
    "        exec(compile('\\n' * (x - 1) + '1/0', __file__, 'exec'))\n"
    "    raise ValueError(x)\n",
    "printed output": "import sys\ndef probe(x):\n    print(x)\n    sys.stderr.write(str(x))\n    return None\n",
    "forged answer frame": "import os, struct, json\ndef probe(x):\n"
    "    body = json.dumps({'ok': False, 'error': {'type': 'E%s' % x, 'message': str(x), 'line': x if isinstance(x, int) else 2,"
    " 'file': 'solution.py', 'traceback': str(x)}}).encode()\n"
    "    os.write(4, struct.pack('>I', len(body)) + body)\n    os._exit(0)\n",
    "run time": "import time\ndef probe(x):\n    if x == 4817:\n        time.sleep(0.4)\n    return 0\n",
}


@pytest.fixture
def probe_assignment(course):
    assignment = Assignment.objects.create(course=course, slug="probe", title="Probe", published=True)
    for order, (name, expr, visible) in enumerate(
        [
            ("visible one", "probe('a')", True),
            ("hidden word", f"probe({WORD!r})", False),
            ("hidden number", f"probe({NUMBER})", False),
        ]
    ):
        TestCase.objects.create(
            assignment=assignment,
            name=name,
            kind="expr",
            visible=visible,
            order=order,
            spec={"expr": expr, "expected": "1"},
            time_limit=5,
        )
    return assignment


def graded(assignment, student, code):
    submission = Submission.objects.create(
        assignment=assignment, student=student, attempt=1, files={"solution.py": code + PAD}
    )
    grading.grade(submission.pk)
    _store_fallback(submission)
    submission.refresh_from_db()
    return submission


def everything_a_student_sees(client, submission):
    client.force_login(submission.student)
    api = client.get(reverse("api-submission", args=[submission.pk]))
    assert api.status_code == 200
    feedback = Feedback.objects.get(submission=submission)
    prompt = "\n".join(m["content"] for m in build_messages(hint_request(submission)))
    # The student's own code (and its numbered lines) is theirs: leave it out of the search.
    prompt = re.sub(r"# Student code\n.*?# Failing tests", "", prompt, flags=re.S)
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    surfaces = {
        "page": re.sub(r'<table class="highlighttable">.*?</table>', "", page, flags=re.S),
        "live": client.get(reverse("submission_live", args=[submission.pk])).content.decode(),
        "api": api.content.decode(),
        "webhook": json.dumps(graded_payload(submission)),
        "hint": f"{feedback.hint} {feedback.concept}",
        "prompt": prompt,
    }
    return surfaces, api.json(), feedback


@pytest.mark.parametrize("code", list(ENCODINGS.values()), ids=list(ENCODINGS))
def test_nothing_the_code_did_in_a_hidden_test_reaches_the_student(client, people, probe_assignment, code):
    submission = graded(probe_assignment, people["alice"], code)
    assert submission.status == "graded"
    surfaces, api, feedback = everything_a_student_sees(client, submission)
    for surface, text in surfaces.items():
        assert WORD not in text, f"the hidden word leaked through the {surface}"
        assert str(NUMBER) not in text, f"the hidden number leaked through the {surface}"
    assert feedback.line != NUMBER
    hidden = [r for r in api["results"] if not r["visible"]]
    assert len(hidden) == 2
    for result in hidden:
        assert result["duration"] is None and result["stdout"] is None and result["message"] is None
        assert result["outcome"] in {"passed", "failed", "error", "timeout", "memory", "crashed"}


def test_staff_see_everything_and_so_do_students_when_the_assignment_says_so(
    client, people, probe_assignment
):
    submission = graded(probe_assignment, people["alice"], ENCODINGS["exception message"])
    client.force_login(people["instructor"])
    assert WORD in client.get(reverse("submission", args=[submission.pk])).content.decode()
    probe_assignment.show_hidden_details = True
    probe_assignment.save()
    surfaces, api, _ = everything_a_student_sees(client, submission)
    assert WORD in surfaces["page"] and WORD in surfaces["api"] and WORD in surfaces["prompt"]
    assert all(r["duration"] is not None for r in api["results"])


def test_a_hint_line_is_always_a_line_of_the_students_file(people, probe_assignment):
    # A visible test's traceback may point anywhere the code says; the hint keeps only real lines.
    code = "def probe(x):\n    exec(compile('\\n' * 99 + '1/0', __file__, 'exec'))\n"
    submission = Submission.objects.create(
        assignment=probe_assignment, student=people["bob"], attempt=1, files={"solution.py": code}
    )
    grading.grade(submission.pk)
    _store_fallback(submission)
    assert Feedback.objects.get(submission=submission).line is None  # line 100 of a 2-line file
