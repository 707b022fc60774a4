"""A test LMS: a real HTTP server (a thread, a free port on 127.0.0.1) that plays an LTI 1.3
platform against the tool under test, with its own RSA key.

It signs its id tokens with PyJWT (a platform may; the tool must not hand-roll JWTs), and
serves:

- ``GET  /jwks/<random>``    its JWKS (hits counted: the tool should cache it);
- ``GET  /authorize``        the OIDC authorization endpoint: takes the tool's login-initiation
                             redirect, checks client id, redirect URI and the message hint, and
                             answers with an auto-posting form (id_token + state) to the tool;
- ``POST /deep-link-return`` records the deep-linking response JWT after verifying it against
                             the tool's JWKS (signature, iss = client id, aud = issuer);
- ``GET  /course``           an LMS page that frames the tool (for browser tests).

Routes live in ``platform.routes`` (method, path) -> handler(Request) -> Response, so more
services (an OAuth2 token endpoint, AGS line items and scores, NRPS memberships) are added with
``platform.route("POST", "/token")`` without touching the server.

Launches are minted with ``platform.launch(...)`` / ``platform.deep_linking_launch(...)`` which
return a message hint; ``platform.login_url(hint)`` is where the LMS would send the browser.
Tampering (another signing key, an unknown kid, claims overridden or removed) is chosen per
launch, so refusals are tested through the real protocol.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from lti_tool.models import Key, LtiResourceLink

from lti.models import AssignmentLink, CourseLink
from lti.platforms import PlatformForm, register_platform

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLES = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR, LEARNER = ROLES + "Instructor", ROLES + "Learner"
TEACHING_ASSISTANT = ROLES + "Instructor#TeachingAssistant"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
DROP = object()  # a claim override that removes the claim


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: str = ""


@dataclass
class Response:
    status: int = 200
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def auto_post_form(action: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<!doctype html><form id="post" method="post" action="{html.escape(action)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        "<script>document.getElementById('post').submit()</script>"
    )


@dataclass
class Minted:
    claims: dict
    key: rsa.RSAPrivateKey | None = None  # None: the platform's own key
    kid: str | None = None  # None: the platform's own kid


class TestPlatform:
    __test__ = False  # not a pytest test class

    def __init__(self, tool_url: str, client_id: str = "grader-tool", deployment_id: str = "deployment-1"):
        self.tool_url = tool_url.rstrip("/")
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.key = new_key()
        self.kid = f"lms-{uuid.uuid4().hex[:8]}"
        self.jwks_path = f"/jwks/{uuid.uuid4().hex}"  # a fresh URL: no key set cached by an earlier test
        self.jwks_hits = 0
        self.minted: dict[str, Minted] = {}
        self.deep_link_responses: list[dict] = []
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", self.jwks_path): self.jwks,
            ("GET", "/authorize"): self.authorize,
            ("POST", "/deep-link-return"): self.deep_link_return,
            ("GET", "/course"): self.course_page,
        }
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- life ----------------------------------------------------------------------------
    def start(self) -> TestPlatform:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rotate_key(self) -> None:
        """A new signing key and kid; the JWKS serves only the new one from now on."""
        self.key, self.kid = new_key(), f"lms-{uuid.uuid4().hex[:8]}"

    def route(self, method: str, path: str):
        def add(handler: Callable[[Request], Response]):
            self.routes[(method, path)] = handler
            return handler

        return add

    # --- LTI Dynamic Registration ----------------------------------------------------------
    def offer_dynamic_registration(self) -> str:
        """Serve an OpenID configuration and a registration endpoint; returns the registration
        token the LMS hands the tool (with the configuration's URL)."""
        self.registration_token = uuid.uuid4().hex
        self.tool_registrations: list[dict] = []
        self.routes[("GET", "/.well-known/openid-configuration")] = self.openid_configuration
        self.routes[("POST", "/register")] = self.register_tool
        return self.registration_token

    def _bearer_ok(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.registration_token}"

    def openid_configuration(self, request: Request) -> Response:
        if not self._bearer_ok(request):
            return Response(401, "registration token required")
        config = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + self.jwks_path,
            "registration_endpoint": self.url + "/register",
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {"product_family_code": "test-lms"},
        }
        return Response(body=json.dumps(config), content_type="application/json")

    def register_tool(self, request: Request) -> Response:
        if not self._bearer_ok(request):
            return Response(401, "registration token required")
        self.tool_registrations.append(json.loads(request.body))
        self.client_id, self.deployment_id = f"dyn-{uuid.uuid4().hex[:8]}", "dyn-deployment"
        answer = {
            "client_id": self.client_id,
            **self.tool_registrations[-1],
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                **self.tool_registrations[-1]["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                "deployment_id": self.deployment_id,
            },
        }
        return Response(body=json.dumps(answer), content_type="application/json")

    # --- what the tool's administrator registers ------------------------------------------
    @property
    def registration(self) -> dict[str, str]:
        return {
            "name": "Test LMS",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "auth_url": self.url + "/authorize",
            "token_url": self.url + "/token",
            "keyset_url": self.url + self.jwks_path,
            "deployment_ids": self.deployment_id,
        }

    # --- minting launches -----------------------------------------------------------------
    def launch(
        self,
        sub: str,
        roles: list[str],
        context_id: str = "course-1",
        resource_link_id: str = "link-1",
        custom: dict | None = None,
        ags: dict | None = None,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **overrides,
    ) -> str:
        """A resource-link launch; returns the message hint to start it with."""
        claims = self._base_claims(sub, roles, context_id, "LtiResourceLinkRequest")
        claims[LTI + "resource_link"] = {"id": resource_link_id, "title": f"Link {resource_link_id}"}
        claims[LTI + "target_link_uri"] = self.tool_url + "/lti/launch/"
        if custom:
            claims[LTI + "custom"] = custom
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags or {
            "scope": AGS_SCOPES,
            "lineitems": f"{self.url}/{context_id}/lineitems",
            "lineitem": f"{self.url}/{context_id}/lineitems/{resource_link_id}",
        }
        return self._mint(claims, key, kid, overrides)

    def deep_linking_launch(
        self, sub: str, roles: list[str], context_id: str = "course-1", **overrides
    ) -> str:
        claims = self._base_claims(sub, roles, context_id, "LtiDeepLinkingRequest")
        claims[LTI + "target_link_uri"] = self.tool_url + "/lti/launch/"
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": self.url + "/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "data": "opaque-platform-data",
        }
        return self._mint(claims, None, None, overrides)

    def _base_claims(self, sub: str, roles: list[str], context_id: str, message_type: str) -> dict:
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "name": f"Person {sub}",
            "given_name": "Person",
            "family_name": sub,
            "email": f"{sub}@lms.example.edu",
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "roles": roles,
            LTI + "context": {"id": context_id, "label": context_id.upper(), "title": f"LMS {context_id}"},
            LTI + "launch_presentation": {"document_target": "iframe", "return_url": self.url + "/return"},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/{context_id}/memberships",
                "service_versions": ["2.0"],
            },
        }

    def _mint(self, claims: dict, key, kid, overrides: dict) -> str:
        for name, value in overrides.items():  # claim URIs come whole: **{LTI + "roles": [...]}
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        hint = uuid.uuid4().hex
        self.minted[hint] = Minted(claims, key, kid)
        return hint

    def login_url(self, hint: str) -> str:
        """Third-party login initiation, as the LMS sends the browser to the tool."""
        claims = self.minted[hint].claims
        params = {
            "iss": self.issuer,
            "login_hint": claims["sub"],
            "lti_message_hint": hint,
            "target_link_uri": claims[LTI + "target_link_uri"],
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        return f"{self.tool_url}/lti/login/?{urlencode(params)}"

    def id_token(self, hint: str, nonce: str) -> str:
        minted = self.minted[hint]
        now = int(time.time())
        claims = {"iat": now, "exp": now + 300, "nonce": nonce, **minted.claims}
        key, kid = minted.key or self.key, minted.kid or self.kid
        return jwt.encode(claims, pem(key), algorithm="RS256", headers={"kid": kid})

    # --- endpoints ------------------------------------------------------------------------
    def jwks(self, request: Request) -> Response:
        self.jwks_hits += 1
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, alg="RS256", use="sig")
        return Response(body=json.dumps({"keys": [public]}), content_type="application/json")

    def authorize(self, request: Request) -> Response:
        q = request.query
        hint = q.get("lti_message_hint", "")
        if q.get("client_id") != self.client_id or hint not in self.minted:
            return Response(400, "unknown client or message")
        if q.get("redirect_uri") != self.minted[hint].claims[LTI + "target_link_uri"]:
            return Response(400, "redirect_uri is not the one registered")
        if q.get("response_type") != "id_token" or q.get("scope") != "openid" or not q.get("nonce"):
            return Response(400, "not an LTI OIDC authentication request")
        token = self.id_token(hint, q["nonce"])
        return Response(
            body=auto_post_form(q["redirect_uri"], {"id_token": token, "state": q.get("state", "")})
        )

    def deep_link_return(self, request: Request) -> Response:
        token = request.form.get("JWT", "")
        signing_key = jwt.PyJWKClient(self.tool_url + "/.well-known/jwks.json").get_signing_key_from_jwt(
            token
        )
        payload = jwt.decode(
            token, signing_key.key, algorithms=["RS256"], audience=self.issuer, issuer=self.client_id
        )
        self.deep_link_responses.append(payload)
        items = payload.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
        return Response(body=f"<h1>The LMS received {len(items)} item(s)</h1>")

    def course_page(self, request: Request) -> Response:
        src = self.login_url(request.query["launch"])
        return Response(
            body=f"<!doctype html><title>LMS course</title><h1>LMS course page</h1>"
            f'<iframe id="tool" title="grader" src="{html.escape(src)}" width="1000" height="700"></iframe>'
        )


def _handler_for(platform: TestPlatform):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            request = Request(
                self.command,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                {k: v[0] for k, v in parse_qs(body).items()},
                dict(self.headers),
                body,
            )
            handler = platform.routes.get((self.command, parts.path))
            response = handler(request) if handler else Response(404, "no such route")
            data = response.body.encode()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args):
            pass

    return Handler


FORM = re.compile(r'<form[^>]*action="([^"]+)"')
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The auto-posting form of a page (the LMS's or the tool's deep-linking answer)."""
    action = FORM.search(page)
    assert action, page[:500]
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in FIELD.findall(page)}


class Browser:
    """A browser without JavaScript: follows redirects and, where a page would post itself
    (the LMS's form, the tool's deep-linking answer), posts it. requests never sends a Secure
    cookie over http (browsers do, to localhost): tests driving it turn LTI_FRAMED_COOKIES off,
    and the browser tests keep it on."""

    def __init__(self):
        self.session = requests.Session()

    def start_launch(self, platform: TestPlatform, hint: str) -> tuple[str, dict[str, str]]:
        """Login initiation up to the LMS's auto-posting form: (launch URL, id_token + state).
        ``lti1p3_new_window`` is what the tool's cookie-check page adds once cookies work."""
        page = self.session.get(platform.login_url(hint) + "&lti1p3_new_window=1", timeout=30)
        assert page.status_code == 200, page.text[:500]
        return form_of(page.text)

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(url, data=data, timeout=30)

    def launch(self, platform: TestPlatform, hint: str) -> requests.Response:
        return self.post(*self.start_launch(platform, hint))

    def get(self, url: str) -> requests.Response:
        return self.session.get(url, timeout=30)

    def csrf_post(self, url: str, data: dict[str, str]) -> requests.Response:
        token = self.session.cookies.get("csrftoken")
        return self.session.post(
            url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": url}, timeout=30
        )


def registered(platform: TestPlatform):
    """The platform registered in the tool (as the platforms page does), with the tool's key."""
    if not Key.objects.active().exists():
        Key.objects.generate()
    form = PlatformForm(platform.registration)
    assert form.is_valid(), form.errors
    return register_platform(form)


def link_course_1(platform: TestPlatform, course, assignment) -> None:
    """The LMS's course-1 is ``course``, its link-1 opens ``assignment`` (a first launch by the
    LMS's instructor makes the LTI records; the links are made here)."""
    page = Browser().launch(platform, platform.launch("lms-teacher", [INSTRUCTOR]))
    assert "/lti/link/" in page.url, page.text[:300]
    resource_link = LtiResourceLink.objects.get(id_on_platform="link-1", context__id_on_platform="course-1")
    CourseLink.objects.create(context=resource_link.context, course=course)
    AssignmentLink.objects.create(resource_link=resource_link, assignment=assignment)
