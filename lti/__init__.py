"""The platform as an LTI 1.3 tool: platform registrations, launches, deep linking.

Built on django-lti (``lti_tool``, itself on pylti1p3), which owns the protocol: keys and the
JWKS, OIDC login initiation, id-token validation, deployments, and the LTI-side records of
users, contexts and resource links. This app keeps only what ties those records to the
platform's own: which grader course an LMS context is, which assignment a resource link opens.
"""
