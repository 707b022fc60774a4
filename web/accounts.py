"""Password resets by e-mail, with Django's own views (grader/urls.py) and these forms.

Django's PasswordResetForm skips accounts without a usable password, for sites where such an
account must never sign in with one. Here they are mostly people a roster sync or CSV import
enrolled (courses.roster creates accounts with no usable password), and a reset by e-mail is
how they sign in the first time, so they get the link too. Inactive accounts never do."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm


class AccountPasswordResetForm(PasswordResetForm):
    def get_users(self, email):
        """Active accounts with this address (any case), with or without a usable password."""
        User = get_user_model()
        field = User.get_email_field_name()
        return User._default_manager.filter(**{f"{field}__iexact": email, "is_active": True}).iterator()


class AccountSetPasswordForm(SetPasswordForm):
    """Django's form, its fields named as the page names them (password_reset_confirm.html), and
    what is wrong with the password said on the box the password was typed in. Django files
    both under the confirmation box, as "New password confirmation: This password is too
    common", which sends the reader to fix the wrong box."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password2"].label = "The same password again"

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")  # a mismatch: on the second box
        if "new_password2" in self.cleaned_data:  # the two agree: judge the password itself
            self.validate_password_for_user(self.user, "new_password1")
        # Past SetPasswordForm.clean, whose two checks are the ones above (Django 5.2; the
        # password-reset tests would show a check it gained and this form lost).
        return super(SetPasswordForm, self).clean()
