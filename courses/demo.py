"""The demo course: an instructor, a TA, three students and two Python assignments
with visible and hidden tests and a reference solution. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from courses.models import Assignment, Course, LatePolicy, Membership, Role, TestCase

PASSWORD = "demo-pass-2026"
PEOPLE = [
    ("instructor", Role.INSTRUCTOR),
    ("ta", Role.TA),
    ("alice", Role.STUDENT),
    ("bob", Role.STUDENT),
    ("carol", Role.STUDENT),
]

SEARCH_STATEMENT = """\
Write `search(x, xs)` that returns the index of `x` in the **sorted** tuple `xs`, or `-1` if
`x` is not there. Use binary search: your function must not look at every element.

```python
search(5, (1, 3, 5, 7))   # 2
search(4, (1, 3, 5, 7))   # -1
```
"""
SEARCH_REFERENCE = """\
def search(x, xs):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == x:
            return mid
        if xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
"""
SEARCH_STARTER = "def search(x, xs):\n    # your code here\n    return -1\n"
SEARCH_TESTS = [
    ("finds the middle element", True, 1, {"expr": "search(5, (1, 3, 5, 7, 9))", "expected": "2"}),
    ("missing element", True, 1, {"expr": "search(4, (1, 3, 5, 7))", "expected": "-1"}),
    ("first element", False, 2, {"expr": "search(-5, sample_data)", "expected": "0"}),
    ("last element", False, 2, {"expr": "search(10, sample_data)", "expected": "5"}),
    ("empty tuple", False, 2, {"expr": "search(42, ())", "expected": "-1"}),
]

FIZZ_STATEMENT = """\
Read an integer `n` from standard input and print the numbers from 1 to `n`, one per line,
but print `Fizz` for multiples of 3, `Buzz` for multiples of 5 and `FizzBuzz` for multiples of both.
Also define `fizz(i)` returning the word (or number, as a string) for one `i`.
"""
FIZZ_REFERENCE = """\
def fizz(i):
    if i % 15 == 0:
        return "FizzBuzz"
    if i % 3 == 0:
        return "Fizz"
    if i % 5 == 0:
        return "Buzz"
    return str(i)


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        print(fizz(i))
"""
# The tests import the file to call fizz(), so the reading of n must wait for the main guard:
# a starter that reads input at the top fails every pytest test before it runs.
FIZZ_STARTER = """\
def fizz(i):
    # return "Fizz", "Buzz", "FizzBuzz" or the number as a string
    return str(i)


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        print(fizz(i))
"""
FIZZ_PYTEST = """\
from solution import fizz


def test_multiples_of_fifteen():
    assert fizz(15) == "FizzBuzz"
    assert fizz(45) == "FizzBuzz"


def test_plain_numbers():
    assert fizz(7) == "7"
"""


def _fizz_output(n: int) -> str:
    words = {0: "FizzBuzz", 3: "Fizz", 5: "Buzz", 6: "Fizz", 9: "Fizz", 10: "Buzz", 12: "Fizz"}
    return "".join(f"{words.get(i % 15, i)}\n" for i in range(1, n + 1))


FIZZ_TESTS = [
    ("n = 5", True, 1, "io", {"stdin": "5\n", "stdout": _fizz_output(5)}),
    ("n = 15", True, 1, "io", {"stdin": "15\n", "stdout": _fizz_output(15)}),
    ("n = 100", False, 2, "io", {"stdin": "100\n", "stdout": _fizz_output(100)}),
    ("fizz() unit tests", False, 2, "pytest", {"source": FIZZ_PYTEST}),
]


@transaction.atomic
def seed() -> Course:
    users = {}
    User = get_user_model()
    for username, _ in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.edu"}
        )
        if created:
            user.set_password(PASSWORD)
            user.is_staff = user.is_superuser = username == "instructor"  # the admin site, for the demo
            user.save()
        users[username] = user
    course, _ = Course.objects.update_or_create(
        code="cs101", defaults={"title": "CS 101: Programming in Python", "description": "The demo course."}
    )
    for username, role in PEOPLE:
        Membership.objects.update_or_create(user=users[username], course=course, defaults={"role": role})
    deadline = timezone.now() + timedelta(days=14)
    search = _assignment(
        course,
        "binary-search",
        "Binary search",
        SEARCH_STATEMENT,
        deadline,
        starter={"solution.py": SEARCH_STARTER},
        reference={"solution.py": SEARCH_REFERENCE},
        setup_code="sample_data = (-5, 1, 3, 5, 7, 10)",
    )
    for order, (name, visible, points, spec) in enumerate(SEARCH_TESTS):
        _test(search, order, name, "expr", visible, points, spec)
    fizz = _assignment(
        course,
        "fizzbuzz",
        "FizzBuzz",
        FIZZ_STATEMENT,
        deadline,
        starter={"solution.py": FIZZ_STARTER},
        reference={"solution.py": FIZZ_REFERENCE},
    )
    for order, (name, visible, points, kind, spec) in enumerate(FIZZ_TESTS):
        _test(fizz, order, name, kind, visible, points, spec)
    return course


def _assignment(course, slug, title, statement, deadline, starter, reference, setup_code=""):
    assignment, _ = Assignment.objects.update_or_create(
        course=course,
        slug=slug,
        defaults=dict(
            title=title,
            statement=statement,
            starter_files=starter,
            reference_files=reference,
            setup_code=setup_code,
            deadline=deadline,
            late_policy=LatePolicy.PENALTY,
            late_penalty_percent=10,
            attempt_limit=20,
            published=True,
        ),
    )
    return assignment


def _test(assignment, order, name, kind, visible, points, spec):
    test, _ = TestCase.objects.update_or_create(
        assignment=assignment,
        name=name,
        defaults=dict(kind=kind, visible=visible, points=points, spec=spec, order=order, time_limit=5),
    )
    test.full_clean()
    return test
