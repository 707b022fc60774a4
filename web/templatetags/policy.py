"""``{% load policy %}`` then ``{% if membership|can:"author" %}``: templates ask the one
permission policy (courses.policy) instead of comparing role names."""

from django import template

from courses.policy import Cap, role_capabilities

register = template.Library()


@register.filter
def can(membership, capability: str) -> bool:
    """Whether the membership's role grants the capability (an unknown name is an error)."""
    return membership is not None and Cap(capability) in role_capabilities(membership.role)
