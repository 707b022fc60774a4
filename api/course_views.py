"""API v1: courses (create, archive) and assignments (author, read back, delete, archive).
Thin: the rules are the policy's (courses.policy) and the services' (courses.catalog,
courses.assignments, the model's own validation)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.auth import token_of
from api.errors import Conflict
from api.serializers import (
    AssignmentAuthorSerializer,
    AssignmentSerializer,
    AssignmentWriteSerializer,
    CourseCreateSerializer,
    CourseSerializer,
)
from api.views import PERMISSIONS, course_and_caps, course_or_404, idempotent, visible_courses
from courses.assignments import (
    AssignmentInUse,
    delete_assignment,
    do_save_assignment,
    set_assignment_archived,
)
from courses.catalog import create_course, set_course_archived
from courses.models import Course
from courses.policy import Cap, may_create_courses

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="a retried POST returns the first answer"
)


def validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    """The model's messages (per field when it gave fields) as the API's 400."""
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class CourseList(generics.ListAPIView):
    """Courses this token or account may use (archived ones too: see ``archived_at``). POST
    creates one: people with the course-creation permission, and their tokens with the
    ``courses`` scope; the creator becomes its instructor, and a token gets the new course."""

    permission_classes = PERMISSIONS
    serializer_class = CourseSerializer

    def get_queryset(self):
        return visible_courses(self.request).order_by("code").distinct()

    @extend_schema(
        request=CourseCreateSerializer, responses={201: CourseSerializer}, parameters=[IDEMPOTENCY_KEY]
    )
    def post(self, request):
        token = token_of(request)
        creator = request.user if token is None else token.created_by
        if not may_create_courses(creator, None if token is None else token.scopes):
            raise exceptions.PermissionDenied(
                "This token or account may not create courses: it takes an account with the "
                "course-creation permission (given in the admin) and, for a token, the 'courses' scope."
            )
        data = request.data if isinstance(request.data, dict) else {}
        return idempotent(request, dict(data), lambda: self._create(request, creator, token))

    def _create(self, request, creator, token) -> Response:
        serializer = CourseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            course = create_course(creator, Course(**serializer.validated_data))
        except DjangoValidationError as exc:
            raise validation_error(exc) from None
        if token is not None:
            token.courses.add(course)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)


class CourseDetail(generics.RetrieveAPIView):
    permission_classes = PERMISSIONS
    serializer_class = CourseSerializer
    lookup_field, lookup_url_kwarg = "code", "course"

    def get_queryset(self):
        return visible_courses(self.request).distinct()


class CourseArchive(APIView):
    """POST archives the course (read-only for everyone, off dashboards, grades still
    readable); DELETE restores it. Instructors, and tokens with the manage scope."""

    permission_classes = PERMISSIONS

    @extend_schema(request=None, responses={200: CourseSerializer})
    def post(self, request, course):
        return self._set(request, course, archived=True)

    @extend_schema(request=None, responses={200: CourseSerializer})
    def delete(self, request, course):
        return self._set(request, course, archived=False)

    def _set(self, request, code, archived: bool) -> Response:
        course = set_course_archived(course_or_404(request, code, Cap.ARCHIVE), archived)
        return Response(CourseSerializer(course).data)


class AssignmentList(generics.ListAPIView):
    """Assignments (read); POST creates one with its tests (manage scope). Authors (TAs,
    instructors, tokens with the manage scope) read everything, tests included."""

    permission_classes = PERMISSIONS
    caps: frozenset[Cap] = frozenset()  # the caller's, set by get_queryset

    def get_serializer_class(self):
        # What a hidden test checks is for those who may see hidden tests' details.
        return AssignmentAuthorSerializer if Cap.SEE_HIDDEN_DETAILS in self.caps else AssignmentSerializer

    @extend_schema(
        responses={200: AssignmentAuthorSerializer(many=True)},
        description="Authors get the tests, setup snippet, module name and limits too; others the "
        "fields of the public view (published, not archived assignments for students).",
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def get_queryset(self):
        course, self.caps = course_and_caps(self.request, self.kwargs["course"], Cap.VIEW_COURSE)
        queryset = (
            course.assignments.select_related("course").prefetch_related("tests").order_by("deadline", "slug")
        )
        if Cap.VIEW_DRAFTS in self.caps:
            return queryset
        return queryset.filter(published=True, archived_at__isnull=True)

    @extend_schema(
        request=AssignmentWriteSerializer,
        responses={201: AssignmentAuthorSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request, course):
        course_obj = course_or_404(request, course, Cap.AUTHOR)
        data = request.data if isinstance(request.data, dict) else {}
        return idempotent(
            request, dict(data), lambda: self._save(request, course_obj, None, status.HTTP_201_CREATED)
        )

    def _save(self, request, course, slug, code) -> Response:
        serializer = AssignmentWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            assignment = do_save_assignment(course, dict(serializer.validated_data), slug)
        except DjangoValidationError as exc:
            raise validation_error(exc) from None
        return Response(AssignmentAuthorSerializer(assignment).data, status=code)


class AssignmentDetail(AssignmentList, generics.RetrieveAPIView):
    lookup_field, lookup_url_kwarg = "slug", "slug"

    @extend_schema(
        operation_id="courses_assignments_retrieve",
        responses={200: AssignmentAuthorSerializer},
        description="Authors get the tests, setup snippet, module name and limits too; others the "
        "fields of the public view.",
    )
    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(request=AssignmentWriteSerializer, responses={200: AssignmentAuthorSerializer})
    def put(self, request, course, slug):
        """Replace the assignment and its tests (manage scope)."""
        course_obj = course_or_404(request, course, Cap.AUTHOR)
        get_object_or_404(course_obj.assignments, slug=slug)
        return self._save(request, course_obj, slug, status.HTTP_200_OK)

    @extend_schema(responses={204: None})
    def delete(self, request, course, slug):
        """Delete an assignment no one has submitted to; with submissions: 409, archive it."""
        course_obj = course_or_404(request, course, Cap.AUTHOR)
        try:
            delete_assignment(get_object_or_404(course_obj.assignments, slug=slug))
        except AssignmentInUse as exc:
            raise Conflict(
                f"{exc} (POST /api/v1/courses/{course}/assignments/{slug}/archive/)", code="has_submissions"
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    http_method_names = ["get", "put", "delete", "head", "options"]  # creating is on the list


class AssignmentArchive(APIView):
    """POST archives the assignment (no submissions, hidden from students; submissions and
    grades stay); DELETE restores it. Instructors, and tokens with the manage scope."""

    permission_classes = PERMISSIONS

    @extend_schema(request=None, responses={200: AssignmentAuthorSerializer})
    def post(self, request, course, slug):
        return self._set(request, course, slug, archived=True)

    @extend_schema(request=None, responses={200: AssignmentAuthorSerializer})
    def delete(self, request, course, slug):
        return self._set(request, course, slug, archived=False)

    def _set(self, request, code, slug, archived: bool) -> Response:
        course = course_or_404(request, code, Cap.ARCHIVE)
        try:
            assignment = set_assignment_archived(get_object_or_404(course.assignments, slug=slug), archived)
        except DjangoValidationError as exc:
            raise validation_error(exc) from None
        return Response(AssignmentAuthorSerializer(assignment).data)
