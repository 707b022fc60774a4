"""Root URL conf: each app routes its own URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from web.accounts import AccountPasswordResetForm, AccountSetPasswordForm

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Password resets by e-mail (also how roster-created accounts set their first password).
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(form_class=AccountPasswordResetForm),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=AccountSetPasswordForm),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("", include("lti.urls")),
    path("", include("web.urls")),
]
