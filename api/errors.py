"""One error format for every API error:

{"error": {"code": "validation_error", "message": "...", "fields": {"files": ["..."]}}}
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler


class Conflict(exceptions.APIException):
    """409: the request is valid but the resource's state forbids it (the message says why and
    what to do instead)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the resource's current state."


# Django's own exceptions, which DRF turns into responses too.
DJANGO_CODES = {Http404: "not_found", PermissionDenied: "permission_denied"}


def handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # Django's own check of DATA_UPLOAD_MAX_MEMORY_SIZE
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is larger than the limit of {limit} bytes."
        exc = exceptions.APIException(message)
        exc.status_code, exc.default_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too_large"
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = _first(fields) or "The request is not valid."
        code = "validation_error"
    else:
        fields = {}
        code = getattr(exc, "default_code", None) or DJANGO_CODES.get(type(exc), "error")
        message = str(getattr(exc, "detail", "") or exc or response.status_text)
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        code = "throttled"
    response.data = {"error": {"code": str(code), "message": message, "fields": _plain(fields)}}
    return response


def _first(fields, prefix: str = "") -> str:
    """The first message, named by its path (files.solution.py: ...)."""
    for name, errors in fields.items():
        path = f"{prefix}{name}" if name != "non_field_errors" else prefix.rstrip(".")
        if isinstance(errors, dict):
            found = _first(errors, f"{path}.")
            if found:
                return found
            continue
        items = errors if isinstance(errors, list) else [errors]
        if items and isinstance(items[0], dict):
            found = _first(items[0], f"{path}.")
            if found:
                return found
        elif items:
            return f"{path}: {items[0]}" if path else str(items[0])
    return ""


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)
