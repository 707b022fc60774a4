"""``{% load policy %}`` then ``{% if membership|can:"author" %}``: templates ask the one
permission policy (courses.policy) instead of comparing role names."""

from django import template

from courses.policy import Cap, membership_capabilities

register = template.Library()


@register.filter
def can(membership, capability: str) -> bool:
    """Whether the membership grants the capability in its course now (its role; read-only in
    an archived course). An unknown name is an error."""
    return membership is not None and Cap(capability) in membership_capabilities(membership)
