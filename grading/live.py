"""A version of what a submission's live part shows, kept in the shared cache.

The live part (the status, score, results, hint and staff controls that static/js/live.js
polls) changes only when a row of the submission changes. Every such change calls
:func:`changed`, which forgets the submission's version once the transaction commits; the
next poll makes a new, random one. A poll that names the version it already has can then be
answered "not modified" from the cache alone (web.live), without the database.

Where changes come from: state transitions (grading.states.transition: claim, record,
requeue, sweeper, regrades), every save() of a row that belongs to a submission (its results,
hint, hint request, rubric scores, overrides: the post_save receiver below, connected in
GradingConfig.ready), score announcements (grading.signals), and the few queryset updates
that bypass save() (they call :func:`changed` themselves).
"""

from __future__ import annotations

import logging
import secrets

from django.core.cache import cache
from django.db import transaction

from grading.models import Submission

log = logging.getLogger(__name__)

# A lost invalidation (the cache unreachable at that moment) is corrected when the version
# expires: the next poll then renders the page again.
VERSION_SECONDS = 300


def version_key(submission_id: int) -> str:
    return f"live:v:{submission_id}"


def version(submission_id: int) -> str:
    """The current version, made if there is none. Read it *before* reading what it versions:
    a change committed in between then leaves a version that no longer exists."""
    key = version_key(submission_id)
    current = cache.get(key)
    if current is None:
        cache.add(key, secrets.token_hex(8), VERSION_SECONDS)
        current = cache.get(key)
    return current or ""


def changed(*submission_ids: int | None) -> None:
    """What these submissions show has changed (or will, once the current transaction commits).
    Side effect: their versions leave the cache after the commit; never raises."""
    keys = [version_key(pk) for pk in submission_ids if pk is not None]
    if keys:
        transaction.on_commit(lambda: _forget(keys))


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:  # noqa: BLE001 - the versions expire anyway (VERSION_SECONDS)
        log.exception("could not invalidate live versions", extra={"keys": keys})


def on_saved(sender: type, instance: object, **kwargs: object) -> None:
    """post_save of any model: a Submission, or a row with a ``submission`` of its own."""
    if isinstance(instance, Submission):
        changed(instance.pk)
    elif isinstance(submission_id := getattr(instance, "submission_id", None), int):
        changed(submission_id)


def on_scored(sender: type, submission: Submission, **kwargs: object) -> None:
    changed(submission.pk)


def on_requeued(sender: type, submission_ids: list[int], **kwargs: object) -> None:
    changed(*submission_ids)
