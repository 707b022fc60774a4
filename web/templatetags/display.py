"""``{% load display %}``: small presentation filters."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def breakable_email(address: str):
    """An e-mail address that may wrap after its "@" (never inside a word) in narrow columns."""
    local, at, domain = (address or "").rpartition("@")
    return format_html("{}@<wbr>{}", local, domain) if at else address


@register.filter
def error_count(form) -> int:
    """How many messages a bound form's error list shows (a field may have several)."""
    return sum(len(messages) for messages in form.errors.values())
