from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import course_views, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path(
        "docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[]), name="api-docs"
    ),
    path("courses/", course_views.CourseList.as_view(), name="api-courses"),
    path("courses/<slug:course>/", course_views.CourseDetail.as_view(), name="api-course"),
    path("courses/<slug:course>/archive/", course_views.CourseArchive.as_view(), name="api-course-archive"),
    path("courses/<slug:course>/assignments/", course_views.AssignmentList.as_view(), name="api-assignments"),
    path(
        "courses/<slug:course>/assignments/<slug:slug>/",
        course_views.AssignmentDetail.as_view(),
        name="api-assignment",
    ),
    path(
        "courses/<slug:course>/assignments/<slug:slug>/archive/",
        course_views.AssignmentArchive.as_view(),
        name="api-assignment-archive",
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
