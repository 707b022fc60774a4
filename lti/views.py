"""LTI pages: the launch (and what it leads to), deep linking, platform registrations and the
set-up page. Protocol work is django-lti's (JWKS, login initiation) and ``lti.launch``'s."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from lti_dynamic_registration.views import DynamicRegistrationBaseView
from lti_tool.constants import SESSION_KEY
from lti_tool.models import LtiDeployment, LtiLaunch, LtiRegistration
from lti_tool.utils import DjangoToolConfig, sync_data_from_launch
from lti_tool.views import OIDCLoginInitView
from pylti1p3.contrib.django import DjangoOIDCLogin
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem

from courses import policy
from courses.models import Assignment, Role
from lti import dynamic, linking
from lti.launch import (
    FramedRequest,
    LaunchRefused,
    account_for,
    launch_from_cache,
    launch_storage,
    validated_launch,
)
from lti.linking import launch_role
from lti.middleware import FRAME_ANCESTORS
from lti.platforms import PlatformForm, activate_deployment, register_platform


def refused(request, refusal: LaunchRefused, launch: LtiLaunch | None = None) -> HttpResponse:
    context = {"message": str(refusal), "return_url": launch.get_return_url() if launch else None}
    return render(request, "lti/refused.html", context, status=refusal.status)


def _frame_ancestors(launch: LtiLaunch) -> list[str]:
    """The LMS origins that may frame the pages this launch leads to."""
    registration = launch.registration
    urls = [registration.issuer, registration.auth_url]
    urls.append((launch.launch_presentation_claim or {}).get("return_url") or "")
    urls.append((launch.platform_instance_claim or {}).get("url") or "")
    dl = launch.get_claim("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings") or {}
    urls.append(dl.get("deep_link_return_url") or "")
    origins = {
        f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.scheme in ("http", "https") and p.netloc
    }
    return sorted(origins)


class FramedOIDCLogin(DjangoOIDCLogin):
    def get_cookies_allowed_js_check(self) -> str:
        # The library's page tests whether the iframe may keep a SameSite=None; Secure cookie;
        # the tool's framed cookies are also Partitioned, which browsers that block third-party
        # cookies still keep: test the kind of cookie the tool sets.
        return (
            super()
            .get_cookies_allowed_js_check()
            .replace("'; SameSite=None; secure'", "'; SameSite=None; secure; Partitioned'")
        )


class LoginView(OIDCLoginInitView):
    """OIDC third-party login initiation (django-lti's), with the launch's request and storage,
    and a clear page when the LMS is not registered."""

    def get_oidc_response(self, request, registration_uuid, params):
        target_link_uri = params.get("target_link_uri")
        if not target_link_uri:
            return refused(request, LaunchRefused("The LMS sent no target_link_uri.", status=400))
        login = FramedOIDCLogin(
            FramedRequest(request), DjangoToolConfig(registration_uuid), launch_data_storage=launch_storage()
        )
        try:
            return login.enable_check_cookies(self.main_msg, self.click_msg, self.loading_msg).redirect(
                self.get_redirect_url(target_link_uri)
            )
        except (LtiException, OIDCException) as error:
            return refused(request, LaunchRefused(f"The LMS's login was refused: {error}", status=400))


@method_decorator((csrf_exempt, xframe_options_exempt), name="dispatch")
class LaunchView(View):
    """The launch (redirect) URL: resource links and deep linking requests."""

    def post(self, request):
        launch = None
        try:
            launch = validated_launch(request)
            sync_data_from_launch(launch)
            if not launch.deployment.is_active:
                raise LaunchRefused(
                    "This deployment of the tool is not activated yet: ask the site's administrator to "
                    f"activate deployment {launch.deployment.deployment_id} on grader's LTI platforms page."
                )
            person = account_for(launch.user)
            if not person.user.is_active:
                raise LaunchRefused("This grader account is deactivated: ask the site's administrator.")
            login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = launch.get_launch_id()
            request.session[FRAME_ANCESTORS] = _frame_ancestors(launch)
            if launch.is_deep_link_launch:
                return self.deep_linking(launch, person.user)
            if launch.is_resource_launch:
                return _land(launch, person.user)
            raise LaunchRefused("This kind of LTI launch is not supported by grader.", status=400)
        except LaunchRefused as refusal:
            return refused(request, refusal, launch)

    def deep_linking(self, launch: LtiLaunch, user):
        role = launch_role(launch)
        if role != Role.INSTRUCTOR:
            raise LaunchRefused(
                "Only an instructor of this course may add grader assignments to the LMS course."
            )
        course = linking.course_of(launch.context)
        if course is None:
            return redirect(reverse("lti:link_course") + "?next=deep_link")
        linking.enrol(course, user, role)
        return redirect("lti:deep_link")


def _land(launch: LtiLaunch, user) -> HttpResponse:
    """A resource link's launch: the assignment, or the page that sets up what is missing."""
    placement = linking.place_resource_launch(launch, user)
    if placement.course is None:
        return redirect("lti:link_course")
    if placement.assignment is None:
        return redirect("lti:pick_assignment")
    return redirect("assignment", course_code=placement.course.code, slug=placement.assignment.slug)


def _session_launch(request) -> LtiLaunch:
    launch_id = request.session.get(SESSION_KEY)
    if not launch_id or not request.user.is_authenticated:
        raise LaunchRefused("This page is reached by launching grader from your LMS.", status=400)
    return launch_from_cache(launch_id, request)


def _lti_page(view):
    """A page of the launch's own flow: LaunchRefused becomes the refusal page."""

    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except LaunchRefused as refusal:
            return refused(request, refusal)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_lti_page
def link_course(request):
    """First launch from an LMS course: its instructor links it to a course they manage here, or
    makes a new one for it."""
    launch = _session_launch(request)
    role = launch_role(launch)
    if role != Role.INSTRUCTOR:
        raise LaunchRefused(linking.NOT_SET_UP, status=409)
    context = launch.context
    choices = linking.courses_to_link(request.user)
    if request.method == "POST":
        if request.POST.get("create"):
            linking.create_course_for(context, request.user, role)
        else:
            chosen = next((c for c in choices if str(c.pk) == request.POST.get("course")), None)
            if chosen is None:
                raise LaunchRefused("Choose one of the courses listed.", status=400)
            linking.link_course(context, chosen, request.user, role)
        if request.GET.get("next") == "deep_link":
            return redirect("lti:deep_link")
        return redirect("lti:resume")
    current = linking.course_of(context)
    return render(
        request, "lti/link_course.html", {"context": context, "choices": choices, "current": current}
    )


@_lti_page
@require_POST
def connect_account(request):
    """On the linking page: an LMS instructor signs in with the grader account they already
    have, so that their launches use it (and its courses can be linked)."""
    launch = _session_launch(request)
    if launch_role(launch) != Role.INSTRUCTOR:
        raise LaunchRefused(linking.NOT_SET_UP, status=409)
    form = AuthenticationForm(request, data=request.POST)
    if not form.is_valid():
        context = {
            "context": launch.context,
            "choices": linking.courses_to_link(request.user),
            "login_form": form,
        }
        return render(request, "lti/link_course.html", context, status=400)
    linking.connect_account(launch.user, form.get_user())
    kept = {key: request.session[key] for key in (SESSION_KEY, FRAME_ANCESTORS)}
    login(request, form.get_user())
    request.session.update(kept)
    after = "?next=deep_link" if request.GET.get("next") == "deep_link" else ""
    return redirect(reverse("lti:link_course") + after)


@_lti_page
def resume(request):
    """After linking: where the launch would have landed."""
    return _land(_session_launch(request), request.user)


@_lti_page
def pick_assignment(request):
    """A link placed by hand (not by deep linking): its instructor picks the assignment it opens."""
    launch = _session_launch(request)
    course = linking.course_of(launch.context)
    if launch_role(launch) != Role.INSTRUCTOR or course is None or not launch.is_resource_launch:
        raise LaunchRefused(linking.NOT_SET_UP, status=409)
    if request.method == "POST":
        assignment = get_object_or_404(Assignment, pk=request.POST.get("assignment"), course=course)
        linking.link_assignment(launch.resource_link, assignment, launch.ags_claim)
        return redirect("assignment", course_code=course.code, slug=assignment.slug)
    return render(
        request,
        "lti/pick_assignment.html",
        {"course": course, "assignments": course.assignments.order_by("title")},
    )


@_lti_page
def deep_link(request):
    """Deep linking: the instructor picks an assignment; the LMS gets a signed ltiResourceLink
    with a line item for it."""
    launch = _session_launch(request)
    course = linking.course_of(launch.context)
    if not launch.is_deep_link_launch or launch_role(launch) != Role.INSTRUCTOR or course is None:
        raise LaunchRefused("Only an instructor of this course may add grader assignments to the LMS course.")
    if request.method == "POST":
        assignment = get_object_or_404(Assignment, pk=request.POST.get("assignment"), course=course)
        return launch.deep_link_response([_content_item(request, assignment)])
    return render(
        request, "lti/deep_link.html", {"course": course, "assignments": course.assignments.order_by("title")}
    )


def _content_item(request, assignment: Assignment) -> DeepLinkResource:
    line_item = (
        LineItem()
        .set_score_maximum(linking.score_maximum(assignment))
        .set_label(assignment.title)
        .set_resource_id(str(assignment.pk))
        .set_tag("grade")
    )
    return (
        DeepLinkResource()
        .set_url(request.build_absolute_uri(reverse("lti:launch")))
        .set_title(assignment.title)
        .set_custom_params({linking.ASSIGNMENT_PARAM: str(assignment.pk)})
        .set_lineitem(line_item)
    )


def _urls(request) -> dict[str, str]:
    return {
        "login": request.build_absolute_uri(reverse("lti:login")),
        "launch": request.build_absolute_uri(reverse("lti:launch")),
        "deep_link": request.build_absolute_uri(reverse("lti:launch")),
        "jwks": request.build_absolute_uri(reverse("lti:jwks")),
        "dynamic": request.build_absolute_uri(reverse("lti:platforms")),
        "domain": request.get_host(),
    }


@login_required
def setup(request):
    """Every URL an LMS administrator pastes, for the site's administrators and instructors."""
    if not (policy.can_register_lti_platforms(request.user) or linking.courses_to_link(request.user)):
        raise PermissionDenied
    return render(request, "lti/setup.html", {"urls": _urls(request)})


@login_required
def platforms(request):
    """Register an LMS (site administrators only) and see the ones registered."""
    if not policy.can_register_lti_platforms(request.user):
        raise PermissionDenied
    dynamic_url = None
    if request.method == "POST" and "make_dynamic_url" in request.POST:
        token = dynamic.new_token(request.user)
        dynamic_url = request.build_absolute_uri(reverse("lti:dynamic_registration", args=[token]))
    form = PlatformForm(None if dynamic_url else request.POST or None)
    if request.method == "POST" and form.is_valid():
        registration = register_platform(form)
        return redirect(reverse("lti:platforms") + f"#platform-{registration.pk}")
    registrations = LtiRegistration.objects.prefetch_related("deployments").order_by("name")
    return render(
        request,
        "lti/platforms.html",
        {"form": form, "registrations": registrations, "urls": _urls(request), "dynamic_url": dynamic_url},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def deployment_activate(request, deployment_id: int):
    if not policy.can_register_lti_platforms(request.user):
        raise PermissionDenied
    deployment = LtiDeployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        raise Http404
    activate_deployment(deployment)
    return redirect(reverse("lti:platforms") + f"#platform-{deployment.registration_id}")


@method_decorator(xframe_options_exempt, name="dispatch")
class DynamicRegistrationView(DynamicRegistrationBaseView):
    """LTI Dynamic Registration: the LMS opens this (in a frame) with its configuration URL and
    a registration token; see ``lti.dynamic``."""

    tool_friendly_name = "grader"

    def get(self, request, token: str):
        if not dynamic.use_token(token):
            message = (
                "This registration URL is unknown, used or expired: ask grader's administrator for a new one."
            )
            return refused(request, LaunchRefused(message))
        try:
            openid_config = self.get_openid_config()
            tool = dynamic.tool_registration(_urls(request))
            client_id, deployment_id = dynamic.register_in_platform(
                openid_config, request.GET["registration_token"], tool
            )
            dynamic.store_platform(openid_config, client_id, deployment_id)
        except (ValueError, KeyError, requests.RequestException, dynamic.RegistrationFailed) as error:
            return refused(request, LaunchRefused(f"Registration failed: {error}", status=400))
        return self.success_response()
