"""Structured logs: one JSON object per line (LOG_FORMAT=json), with the ids of what the
process is working on — the web request (``request_id``), the Celery task (``task_id``,
``task``), the submission and the course — added to every record logged meanwhile.

Ids live in a context variable: bound by the request middleware and by Celery's task
signals, read by :class:`ContextFilter` (attached to the handler, so records of every logger
get them). A value passed in ``extra={...}`` wins over the bound one.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_context: ContextVar[dict[str, Any]] = ContextVar("grader_log_context", default={})  # noqa: B039 - never mutated


def bind(**fields: Any) -> Token[dict[str, Any]]:
    """Add ids to the current context (None values are left out); undo with :func:`reset`."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def reset(token: Token[dict[str, Any]]) -> None:
    _context.reset(token)


def bound() -> dict[str, Any]:
    return _context.get()


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with the field names log pipelines expect (``time``,
    ``level``, ``logger``) and the process id (several worker processes share one stream)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)
