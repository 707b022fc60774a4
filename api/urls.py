from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path(
        "docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[]), name="api-docs"
    ),
    path("courses/", views.CourseList.as_view(), name="api-courses"),
    path("courses/<slug:course>/", views.CourseDetail.as_view(), name="api-course"),
    path("courses/<slug:course>/assignments/", views.AssignmentList.as_view(), name="api-assignments"),
    path(
        "courses/<slug:course>/assignments/<slug:slug>/",
        views.AssignmentDetail.as_view(),
        name="api-assignment",
    ),
    path(
        "courses/<slug:course>/assignments/<slug:slug>/submissions/",
        views.SubmissionCreate.as_view(),
        name="api-submit",
    ),
    path("courses/<slug:course>/roster/", views.Roster.as_view(), name="api-roster"),
    path("courses/<slug:course>/grades/", views.Grades.as_view(), name="api-grades"),
    path("courses/<slug:course>/webhooks/", views.Webhooks.as_view(), name="api-webhooks"),
    path("courses/<slug:course>/webhooks/<int:pk>/", views.WebhookDetail.as_view(), name="api-webhook"),
    path("submissions/<int:pk>/", views.SubmissionDetail.as_view(), name="api-submission"),
]
