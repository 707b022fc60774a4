"""What the grading app announces to the apps built on it (feedback, webhooks, LMS links).

Grading imports none of them: each subscribes in its ``AppConfig.ready()``::

    submission_scored.connect(my_receiver)

``submission_scored`` is sent inside the transaction that changed what a submission is worth,
with ``sender=Submission`` and these keyword arguments:

- ``submission``: the Submission, as just saved;
- ``event``: a :class:`ScoreEvent` (graded for the first time, graded again, score overridden
  by staff, a rubric score approved or rejected);
- ``any_failed``: whether a test did not pass.

``submission_requeued`` is sent when finished submissions go back to the queue to be graded
again (``submission_ids``): whatever was derived from their old results (a hint) is stale.

``trial_finished`` is sent when a TrialRun (a reference check, a hint check) ends, done or
not runnable (``trial``).

Receivers write rows only (a hint request, delivery logs) and send their Celery messages
with ``transaction.on_commit``, so nothing is announced for a change that rolls back, and a
receiver's failure rolls the change back with it (Django's ``send``, not ``send_robust``).
"""

from __future__ import annotations

from enum import StrEnum

from django.dispatch import Signal

from grading.models import Submission, TrialRun


class ScoreEvent(StrEnum):
    GRADED = "submission.graded"
    REGRADED = "submission.regraded"
    OVERRIDDEN = "submission.overridden"
    RUBRIC_DECIDED = "submission.rubric_decided"


submission_scored = Signal()


def announce(submission: Submission, event: ScoreEvent, any_failed: bool = False) -> None:
    """Tell every subscriber; call inside the transaction that made the change."""
    submission_scored.send(sender=Submission, submission=submission, event=event, any_failed=any_failed)


submission_requeued = Signal()


def announce_requeued(submission_ids: list[int]) -> None:
    submission_requeued.send(sender=Submission, submission_ids=list(submission_ids))


trial_finished = Signal()


def announce_trial(trial: TrialRun) -> None:
    trial_finished.send(sender=TrialRun, trial=trial)
