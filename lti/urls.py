from django.urls import path
from lti_tool.views import jwks

from lti import views

app_name = "lti"
urlpatterns = [
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("lti/login/", views.LoginView.as_view(), name="login"),
    path("lti/launch/", views.LaunchView.as_view(), name="launch"),
    path("lti/link/", views.link_course, name="link_course"),
    path("lti/connect/", views.connect_account, name="connect_account"),
    path("lti/resume/", views.resume, name="resume"),
    path("lti/pick/", views.pick_assignment, name="pick_assignment"),
    path("lti/deep-link/", views.deep_link, name="deep_link"),
    path("lti/setup/", views.setup, name="setup"),
    path("lti/platforms/", views.platforms, name="platforms"),
    path("lti/register/<str:token>/", views.DynamicRegistrationView.as_view(), name="dynamic_registration"),
    path(
        "lti/deployments/<int:deployment_id>/activate/", views.deployment_activate, name="deployment_activate"
    ),
]
