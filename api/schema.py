"""Describe the token scheme in the OpenAPI schema (imported when the app is ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "grd_<prefix>_<secret>",
            "description": "An API token (admin: REST API → API tokens).",
        }
