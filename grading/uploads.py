"""Upload names as the sender wrote them.

Django's multipart parser silently cuts an upload's name down to its last path component
(``../../x.py`` and ``/etc/x.py`` both become ``x.py``), so a student or an integration
would never learn that the name was refused. ``StrictNameMultiPartParser`` records every
name that Django had to change, and both surfaces refuse such uploads with a message:
the site's form (through ``UploadNamesMiddleware``) and the REST API (api.parsers).
"""

from __future__ import annotations

import html

from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import ImmutableList


class StrictNameMultiPartParser(MultiPartParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unsafe_names: list[str] = []

    def sanitize_file_name(self, file_name):
        clean = super().sanitize_file_name(file_name)
        raw = html.unescape(file_name)
        if clean != raw:
            self.unsafe_names.append(raw)
        return clean


def unsafe_names_message(names: list[str]) -> str:
    shown = ", ".join(repr(n[:100]) for n in names[:3])
    return (
        f"File name {shown} is not allowed: upload files with plain names such as solution.py "
        "(no folders, no path)."
    )


class UploadNamesMiddleware:
    """Parse the site's multipart bodies with the strict parser; the names it had to change
    are left in ``request.unsafe_upload_names`` for the form to refuse."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.unsafe_upload_names = []

        def parse_file_upload(meta, post_data):
            request.upload_handlers = ImmutableList(
                request.upload_handlers,
                warning="You cannot alter upload handlers after the upload has been processed.",
            )
            parser = StrictNameMultiPartParser(meta, post_data, request.upload_handlers, request.encoding)
            post, files = parser.parse()
            request.unsafe_upload_names = parser.unsafe_names
            return post, files

        request.parse_file_upload = parse_file_upload
        return self.get_response(request)
