"""One error format for every API error:

{"error": {"code": "validation_error", "message": "...", "fields": {"files": ["..."]}}}
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

# Django's own exceptions, which DRF turns into responses too.
DJANGO_CODES = {Http404: "not_found", PermissionDenied: "permission_denied"}


def handler(exc, context):
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


def _first(fields) -> str:
    for name, errors in fields.items():
        items = errors if isinstance(errors, list) else [errors]
        if items:
            return f"{name}: {items[0]}" if name != "non_field_errors" else str(items[0])
    return ""


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)
