"""The site's pages: students' and staff's views (the REST API has its own urls)."""

from django.urls import path

from web import authoring_views as authoring
from web import course_views, staff_views, views

urlpatterns = [
    path("", course_views.dashboard, name="dashboard"),
    # Before the <course_code> patterns: "-" is not a course.
    path("courses/-/new/", authoring.course_create, name="course_create"),
    path("courses/<slug:course_code>/", course_views.course_detail, name="course"),
    path("courses/<slug:course_code>/-/settings/", authoring.course_edit, name="course_edit"),
    path("courses/<slug:course_code>/-/archive/", authoring.archive, name="course_archive"),
    path("courses/<slug:course_code>/<slug:slug>/", course_views.assignment_detail, name="assignment"),
    path("courses/<slug:course_code>/<slug:slug>/submit/", views.submit, name="submit"),
    path(
        "courses/<slug:course_code>/<slug:slug>/starter/<str:name>",
        course_views.starter_file,
        name="starter_file",
    ),
    path(
        "courses/<slug:course_code>/<slug:slug>/submissions/",
        views.assignment_submissions,
        name="assignment_submissions",
    ),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
    path("submissions/<int:submission_id>/live/", views.submission_status, name="submission_live"),
    path("submissions/<int:submission_id>/override/", staff_views.override, name="override"),
    path("submissions/<int:submission_id>/regrade/", staff_views.regrade_one, name="regrade_one"),
    path("submissions/<int:submission_id>/rate/", views.rate_hint, name="rate_hint"),
    path("submissions/<int:submission_id>/diff/", views.attempt_diff, name="attempt_diff"),
    path(
        "submissions/<int:submission_id>/rubric/<int:score_id>/",
        staff_views.decide_rubric,
        name="decide_rubric",
    ),
    path("courses/<slug:course_code>/-/gradebook/", staff_views.gradebook, name="gradebook"),
    path("courses/<slug:course_code>/-/gradebook.csv", staff_views.gradebook_export, name="gradebook_csv"),
    path("courses/<slug:course_code>/-/webhooks/", staff_views.webhooks, name="webhooks"),
    path("courses/<slug:course_code>/-/tokens/", staff_views.tokens, name="tokens"),
    path(
        "courses/<slug:course_code>/-/tokens/<int:token_id>/revoke/",
        staff_views.token_revoke,
        name="token_revoke",
    ),
    path("courses/<slug:course_code>/-/members/", staff_views.members, name="members"),
    path(
        "courses/<slug:course_code>/-/members/<int:member_id>/remove/",
        staff_views.member_remove,
        name="member_remove",
    ),
    path("courses/<slug:course_code>/-/preview/", authoring.statement_preview, name="statement_preview"),
    path("courses/<slug:course_code>/-/new/", authoring.assignment_create, name="assignment_create"),
    path("courses/<slug:course_code>/<slug:slug>/edit/", authoring.assignment_edit, name="assignment_edit"),
    path(
        "courses/<slug:course_code>/<slug:slug>/tests/add/<slug:kind>/",
        authoring.test_create,
        name="test_create",
    ),
    path(
        "courses/<slug:course_code>/<slug:slug>/tests/<int:test_id>/", authoring.test_edit, name="test_edit"
    ),
    path(
        "courses/<slug:course_code>/<slug:slug>/tests/<int:test_id>/delete/",
        authoring.test_delete,
        name="test_delete",
    ),
    path("courses/<slug:course_code>/<slug:slug>/rubric/", authoring.rubric, name="rubric"),
    path("courses/<slug:course_code>/<slug:slug>/regrade/", staff_views.regrade, name="regrade"),
    path(
        "courses/<slug:course_code>/<slug:slug>/check/", staff_views.reference_check, name="reference_check"
    ),
    path(
        "courses/<slug:course_code>/<slug:slug>/check/<int:trial_id>/",
        staff_views.reference_check_result,
        name="reference_check_result",
    ),
    path("courses/<slug:course_code>/<slug:slug>/publish/", staff_views.publish, name="publish"),
    path("courses/<slug:course_code>/<slug:slug>/analytics/", staff_views.analytics, name="analytics"),
]
