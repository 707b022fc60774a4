"""The test LMS's services (tests/lti_platform.py): an OAuth2 token endpoint, AGS line items
and scores, and NRPS memberships, plugged into its routes.

- ``POST /token`` verifies the client-assertion JWT against the tool's JWKS, fetched over HTTP
  (signature, ``iss`` = ``sub`` = client id, ``aud`` = this URL, ``exp``), and issues a bearer
  token for the asked scopes that expires after ``token_seconds``.
- ``GET|POST /<context>/lineitems``: the line items container (GET lists, POST creates);
  ``GET /<context>/lineitems/<n>``: one line item; ``POST .../<n>/scores``: a score. Every
  service call checks the bearer token (unknown or expired: 401) and its scope.
- ``GET /<context>/memberships``: the members set by the test, ``page_size`` per page, later
  pages linked with ``Link: <...>; rel="next"``.

Every call is recorded (``calls``, ``token_requests``, ``assertions``, ``scores``). Faults are
queued per kind of call with ``fail(kind, *faults)``: ``500`` (an error answer), ``"slow"`` (an
answer after ``slow_seconds``, past the tool's timeout), ``401`` (the token refused once) or
``None`` (this call answers normally).
Like an LMS, a line item keeps per user the score with the latest ``timestamp``: an older one
arriving late is acknowledged and dropped.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime

import jwt

from tests.lti_platform import Request, Response, TestPlatform

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


class LmsServices:
    __test__ = False

    def __init__(self, platform: TestPlatform, context_id: str = "course-1", tool_jwks_url: str = ""):
        self.platform = platform
        self.context_id = context_id
        self.tool_jwks_url = tool_jwks_url or platform.tool_url + "/.well-known/jwks.json"
        self.token_seconds = 3600
        self.slow_seconds = 5.0
        self.page_size = 2
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[float, set[str]]] = {}
        self.token_requests = 0
        self.assertions: list[dict] = []
        self.calls: list[tuple[str, str]] = []
        self.scores: list[dict] = []  # every score received, in order
        self.latest: dict[tuple[str, str], dict] = {}  # (line item URL, userId) -> kept score
        self.faults: dict[str, list] = defaultdict(list)
        self.line_items: dict[str, dict] = {}
        self.members: list[dict] = []
        base = f"/{context_id}"
        platform.routes[("POST", "/token")] = self.token
        platform.routes[("GET", base + "/lineitems")] = self.list_line_items
        platform.routes[("POST", base + "/lineitems")] = self.create_line_item
        platform.routes[("GET", base + "/memberships")] = self.memberships

    # --- what a test sets ---------------------------------------------------------------
    def fail(self, kind: str, *faults) -> None:
        """Queue faults for the next calls of a kind: "token", "scores", "lineitems", "memberships"."""
        with self.lock:
            self.faults[kind].extend(faults)

    def add_line_item(self, suffix: str, **fields) -> str:
        """A line item that exists in the LMS already (e.g. made by deep linking)."""
        url = f"{self.platform.url}/{self.context_id}/lineitems/{suffix}"
        self.line_items[url] = {"id": url, **fields}
        self._route_line_item(url)
        return url

    def scores_for(self, user_id: str) -> list[dict]:
        return [s for s in self.scores if s["userId"] == user_id]

    def kept(self, line_item_url: str, user_id: str) -> dict | None:
        return self.latest.get((line_item_url, user_id))

    # --- the endpoints ------------------------------------------------------------------
    def _fault(self, kind: str) -> Response | None:
        with self.lock:
            fault = self.faults[kind].pop(0) if self.faults[kind] else None
        if fault == "slow":
            time.sleep(self.slow_seconds)
            return Response(503, "too slow", content_type="text/plain")
        if fault is not None:
            return Response(int(fault), json.dumps({"error": f"injected {fault}"}), "application/json")
        return None

    def token(self, request: Request) -> Response:
        with self.lock:
            self.token_requests += 1
        if fault := self._fault("token"):
            return fault
        form = request.form
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return Response(400, json.dumps({"error": "unsupported_grant_type"}), "application/json")
        assertion = form.get("client_assertion", "")
        try:
            key = jwt.PyJWKClient(self.tool_jwks_url).get_signing_key_from_jwt(assertion)
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=["RS256"],
                audience=self.platform.url + "/token",
                issuer=self.platform.client_id,
                options={"require": ["exp", "iat", "jti", "sub"]},
            )
        except jwt.PyJWTError as error:
            return Response(
                401, json.dumps({"error": "invalid_client", "why": str(error)}), "application/json"
            )
        if claims["sub"] != self.platform.client_id:
            return Response(401, json.dumps({"error": "invalid_client"}), "application/json")
        token = uuid.uuid4().hex
        with self.lock:
            self.assertions.append({"header": jwt.get_unverified_header(assertion), "claims": claims})
            self.tokens[token] = (time.time() + self.token_seconds, set(form.get("scope", "").split()))
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_seconds}
        return Response(body=json.dumps(body), content_type="application/json")

    def _authorized(self, request: Request, scope: str, kind: str) -> Response | None:
        self.calls.append((kind, request.path))
        if fault := self._fault(kind):
            return fault
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        expires, scopes = self.tokens.get(token, (0.0, set()))
        if expires < time.time():
            return Response(401, json.dumps({"error": "invalid_token"}), "application/json")
        if scope not in scopes:
            return Response(403, json.dumps({"error": "insufficient_scope"}), "application/json")
        return None

    def list_line_items(self, request: Request) -> Response:
        if refused := self._authorized(request, LINEITEM_SCOPE, "lineitems"):
            return refused
        items = list(self.line_items.values())
        return Response(
            body=json.dumps(items), content_type="application/vnd.ims.lis.v2.lineitemcontainer+json"
        )

    def create_line_item(self, request: Request) -> Response:
        if refused := self._authorized(request, LINEITEM_SCOPE, "lineitems"):
            return refused
        fields = json.loads(request.body)
        url = self.add_line_item(f"made-{len(self.line_items) + 1}", **fields)
        return Response(
            body=json.dumps(self.line_items[url]), content_type="application/vnd.ims.lis.v2.lineitem+json"
        )

    def _route_line_item(self, url: str) -> None:
        path = url.removeprefix(self.platform.url)

        def get(request: Request) -> Response:
            if refused := self._authorized(request, LINEITEM_SCOPE, "lineitem"):
                return refused
            return Response(body=json.dumps(self.line_items[url]), content_type="application/json")

        def post_score(request: Request) -> Response:
            if refused := self._authorized(request, SCORE_SCOPE, "scores"):
                return refused
            if request.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                return Response(415, "a score is application/vnd.ims.lis.v1.score+json")
            score = json.loads(request.body)
            with self.lock:
                self.scores.append({**score, "lineitem": url})
                key = (url, score["userId"])
                kept = self.latest.get(key)
                if kept is None or _when(score) >= _when(kept):
                    self.latest[key] = score
            return Response(200, "", "application/json")

        self.platform.routes[("GET", path)] = get
        self.platform.routes[("POST", path + "/scores")] = post_score

    def memberships(self, request: Request) -> Response:
        if refused := self._authorized(request, NRPS_SCOPE, "memberships"):
            return refused
        page = int(request.query.get("page", "1"))
        start = (page - 1) * self.page_size
        chunk = self.members[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(self.members):
            next_url = f"{self.platform.url}{request.path}?page={page + 1}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        body = {
            "id": self.platform.url + request.path,
            "context": {"id": self.context_id, "label": self.context_id.upper(), "title": "LMS course"},
            "members": chunk,
        }
        return Response(
            body=json.dumps(body),
            content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
            headers=headers,
        )


def _when(score: dict) -> datetime:
    return datetime.fromisoformat(score["timestamp"])


def member(sub: str, roles: list[str], status: str = "Active", **fields) -> dict:
    """An NRPS member as an LMS lists it."""
    return {
        "user_id": sub,
        "status": status,
        "roles": roles,
        "name": f"Person {sub}",
        "given_name": "Person",
        "family_name": sub,
        "email": f"{sub}@lms.example.edu",
        **fields,
    }
