"""Password resets by e-mail, with Django's own views (grader/urls.py) and this one form.

Django's PasswordResetForm skips accounts without a usable password, for sites where such an
account must never sign in with one. Here they are mostly people a roster sync or CSV import
enrolled (courses.roster creates accounts with no usable password), and a reset by e-mail is
how they sign in the first time, so they get the link too. Inactive accounts never do."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm


class AccountPasswordResetForm(PasswordResetForm):
    def get_users(self, email):
        """Active accounts with this address (any case), with or without a usable password."""
        User = get_user_model()
        field = User.get_email_field_name()
        return User._default_manager.filter(**{f"{field}__iexact": email, "is_active": True}).iterator()
