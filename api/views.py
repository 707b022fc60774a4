"""API v1 views: they validate, call a service, serialize. Who may do what is the one policy
(courses.policy), asked through ``course_or_404`` with the capability each action needs."""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.auth import Authenticated, capabilities, token_of
from api.models import IdempotencyRecord
from api.serializers import (
    GradeSerializer,
    MemberSerializer,
    RosterSerializer,
    SubmissionCreateSerializer,
    SubmissionSerializer,
    WebhookSerializer,
)
from api.services import find_student
from courses.models import Course, Membership, Role
from courses.policy import Cap, staff_course_ids
from courses.roster import RosterRejected, sync_roster
from feedback.models import RubricScore
from grading.models import ScoreOverride, Submission
from grading.services import SubmissionRejected, Upload, do_submit
from webhooks.models import Webhook

PERMISSIONS = [Authenticated]


def visible_courses(request):
    """A session's courses; a token's courses where its creator may still see them (as
    policy.token_capabilities narrows it: an account that left a course, or was deactivated,
    shows it no more through its old tokens)."""
    token = token_of(request)
    if token is None:
        return Course.objects.filter(memberships__user=request.user)
    creator = token.created_by
    if not creator.is_active:
        return Course.objects.none()
    if creator.is_superuser:
        return token.courses.all()
    return token.courses.filter(memberships__user=creator)


def course_and_caps(request, code: str, cap: Cap) -> tuple[Course, frozenset[Cap]]:
    """The course, if this caller may see it (404 otherwise) and do ``cap`` there (403
    otherwise), with everything the caller may do there."""
    course = get_object_or_404(visible_courses(request).distinct(), code=code)
    caps = capabilities(request, course)
    if cap not in caps:
        words = CAP_WORDS.get(cap, str(cap).replace("_", " "))
        raise exceptions.PermissionDenied(f"This token or account may not {words} in {code}.")
    return course, caps


def course_or_404(request, code: str, cap: Cap) -> Course:
    return course_and_caps(request, code, cap)[0]


CAP_WORDS = {
    Cap.VIEW_COURSE: "read this course",
    Cap.AUTHOR: "author assignments",
    Cap.MANAGE_PEOPLE: "change the roster",
    Cap.SUBMIT: "submit",
    Cap.SUBMIT_FOR_STUDENTS: "submit for students",
    Cap.VIEW_GRADES: "read everyone's grades",
    Cap.MANAGE_WEBHOOKS: "manage webhooks",
}


class Roster(generics.ListAPIView):
    """The course's people (GET, paginated; ``?role=`` filters), and PUT upserts them (by external
    id, else e-mail): courses.roster.sync_roster. Both need the right to manage people."""

    permission_classes = PERMISSIONS
    serializer_class = MemberSerializer

    @extend_schema(parameters=[OpenApiParameter("role", str, enum=Role.values, description="only this role")])
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def get_queryset(self):
        course = course_or_404(self.request, self.kwargs["course"], Cap.MANAGE_PEOPLE)
        members = course.memberships.select_related("user").order_by("role", "user__username")
        role = self.request.query_params.get("role")
        if role is not None and role not in Role.values:
            raise exceptions.ValidationError({"role": [f"One of {', '.join(Role.values)}."]})
        return members.filter(role=role) if role else members

    @extend_schema(request=RosterSerializer, responses={200: dict})
    def put(self, request, course):
        course = course_or_404(request, course, Cap.MANAGE_PEOPLE)
        serializer = RosterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return Response(sync_roster(course, serializer.validated_data["members"]))
        except RosterRejected as exc:
            raise exceptions.ValidationError({"members": exc.messages}) from None


class SubmissionCreate(APIView):
    """Submit on behalf of a student (tokens) or as yourself (sessions). Send an
    ``Idempotency-Key`` header: a retried POST returns the first answer, never a second attempt."""

    permission_classes = PERMISSIONS

    @extend_schema(
        request=SubmissionCreateSerializer,
        responses={201: SubmissionSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request, course, slug):
        token = token_of(request)
        course = course_or_404(request, course, Cap.SUBMIT if token is None else Cap.SUBMIT_FOR_STUDENTS)
        assignment = get_object_or_404(course.assignments, slug=slug, published=True)
        data = _submission_data(request)  # read once: uploads are streams
        return idempotent(request, data, lambda: self._create(request, course, assignment, data))

    def _create(self, request, course, assignment, data: dict) -> Response:
        serializer = SubmissionCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        student = self._student(request, course, serializer.validated_data.get("student"))
        uploads = [
            Upload(name, text.encode("utf-8")) for name, text in serializer.validated_data["files"].items()
        ]
        try:
            submission = do_submit(student, assignment, uploads)
        except SubmissionRejected as exc:
            raise exceptions.ValidationError({"files": [str(exc)]}) from None
        body = SubmissionSerializer(submission).data
        return Response(body, status=status.HTTP_201_CREATED)

    def _student(self, request, course, who):
        if token_of(request) is None:
            if who:
                raise exceptions.ValidationError(
                    {"student": ["Submit as yourself; 'student' is for tokens."]}
                )
            return request.user
        if not who:
            raise exceptions.ValidationError({"student": ["Required: the student's external id or e-mail."]})
        student = find_student(course, who)
        if student is None:
            raise exceptions.ValidationError({"student": [f"No student {who!r} in {course.code}."]})
        return student


def idempotent(request, data, create) -> Response:
    """``create()``'s answer, once per token and ``Idempotency-Key`` header: a retried POST
    (the same key, the same path and ``data``) gets the first answer again, never a second
    object; the same key with other data is refused. Without a key or a token, just create."""
    token = token_of(request)
    key = request.headers.get("Idempotency-Key", "").strip()[:200]
    if not key or token is None:
        return create()
    digest = hashlib.sha256(
        request.path.encode() + b"\0" + json.dumps(data, sort_keys=True, default=str).encode()
    ).hexdigest()
    previous = IdempotencyRecord.objects.filter(token=token, key=key).first()
    if previous is not None:
        return _replay(previous, digest)
    try:
        with transaction.atomic():
            response = create()
            IdempotencyRecord.objects.create(
                token=token,
                key=key,
                request_digest=digest,
                status_code=response.status_code,
                body=json.loads(json.dumps(response.data, default=str)),
            )
    except IntegrityError:  # the same key, concurrently: the other request won
        return _replay(IdempotencyRecord.objects.get(token=token, key=key), digest)
    return response


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_digest != digest:
        raise exceptions.ValidationError({"Idempotency-Key": ["This key was used for a different request."]})
    return Response(record.body, status=record.status_code, headers={"Idempotent-Replay": "true"})


def _submission_data(request) -> dict:
    """JSON as it is; multipart: 'student' plus uploaded files (name -> UTF-8 text)."""
    if request.content_type.startswith("multipart/"):
        files = {}
        for upload in request.FILES.getlist("files"):
            try:
                files[upload.name] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise exceptions.ValidationError({"files": [f"{upload.name} is not UTF-8 text."]}) from None
        data = {"files": files}
        if "student" in request.data:
            data["student"] = request.data["student"]
        extra = set(request.data) - {"student", "files"}
        data.update({name: request.data[name] for name in extra})
        return data
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return dict(request.data)


class SubmissionDetail(generics.RetrieveAPIView):
    """A submission: status, score, per-test results (hidden tests' details only for staff or when
    the assignment shows them), and the hint."""

    permission_classes = PERMISSIONS
    serializer_class = SubmissionSerializer
    lookup_url_kwarg = "pk"

    def get_queryset(self):
        queryset = Submission.objects.select_related("assignment__course", "student", "feedback")
        token = token_of(self.request)
        if token is not None:
            return queryset.filter(assignment__course__in=token.courses.all())
        return queryset.filter(
            Q(student=self.request.user) | Q(assignment__course__in=staff_course_ids(self.request.user))
        )

    def retrieve(self, request, *args, **kwargs):
        submission = self.get_object()
        caps = capabilities(request, submission.assignment.course)
        if submission.student_id != request.user.pk and Cap.VIEW_SUBMISSIONS not in caps:
            raise exceptions.NotFound()
        detailed = Cap.SEE_HIDDEN_DETAILS in caps
        return Response(
            self.get_serializer(
                submission, context={**self.get_serializer_context(), "detailed": detailed}
            ).data
        )


class Grades(APIView):
    """The counted score of every student and assignment; ``updated_since`` for incremental pulls."""

    permission_classes = PERMISSIONS

    @extend_schema(
        parameters=[
            OpenApiParameter("updated_since", str, description="ISO 8601 date-time"),
            OpenApiParameter("assignment", str, description="only this assignment (slug)"),
        ],
        responses={200: GradeSerializer(many=True)},
    )
    def get(self, request, course):
        course = course_or_404(request, course, Cap.VIEW_GRADES)
        since = request.query_params.get("updated_since")
        moment = parse_datetime(since) if since else None
        if since and moment is None:
            raise exceptions.ValidationError({"updated_since": ["Not an ISO 8601 date-time."]})
        rows = self._rows(course, moment)
        if request.query_params.get("assignment"):
            rows = [r for r in rows if r["assignment"] == request.query_params["assignment"]]
        return Response(GradeSerializer(rows, many=True).data)

    def _rows(self, course, moment):
        """The counted attempt of each student and assignment (grading.scoring's rule, in SQL)."""
        students = Membership.objects.filter(course=course, role=Role.STUDENT)
        counted = (
            Submission.objects.filter(assignment__course=course, student__in=students.values("user_id"))
            .counted()
            .select_related("assignment", "student")
            .annotate(
                last_override=Subquery(
                    ScoreOverride.objects.filter(submission=OuterRef("pk")).order_by("-at").values("at")[:1]
                ),
                last_rubric=Subquery(
                    RubricScore.objects.filter(submission=OuterRef("pk"), decided_at__isnull=False)
                    .order_by("-decided_at")
                    .values("decided_at")[:1]
                ),
            )
        )
        externals = dict(students.values_list("user_id", "external_id"))
        rows = []
        for sub in counted:
            updated = max(t for t in (sub.status_changed_at, sub.last_override, sub.last_rubric) if t)
            if moment and updated < moment:
                continue
            rows.append(
                {
                    "student": sub.student.username,
                    "email": sub.student.email,
                    "external_id": externals.get(sub.student_id, ""),
                    "assignment": sub.assignment.slug,
                    "submission": sub.pk,
                    "score": sub.final,
                    "max_score": sub.max_score,
                    "is_late": sub.is_late,
                    "overridden": sub.override_score is not None,
                    "updated_at": updated,
                }
            )
        return sorted(rows, key=lambda r: (r["assignment"], r["student"]))


class Webhooks(APIView):
    """The course's webhook subscriptions (instructors; tokens with the manage scope). The
    secret is returned for signing checks."""

    permission_classes = PERMISSIONS

    def _course(self, request, code):
        return course_or_404(request, code, Cap.MANAGE_WEBHOOKS)

    @extend_schema(responses={200: WebhookSerializer(many=True)})
    def get(self, request, course):
        course = self._course(request, course)
        return Response(WebhookSerializer(course.webhooks.order_by("created_at"), many=True).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request, course):
        course = self._course(request, course)
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hook = Webhook(course=course, **serializer.validated_data)
        try:
            hook.full_clean()
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from None
        hook.save()
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetail(Webhooks):
    @extend_schema(responses={204: None})
    def delete(self, request, course, pk):
        course = self._course(request, course)
        get_object_or_404(course.webhooks, pk=pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    http_method_names = ["delete", "options"]
