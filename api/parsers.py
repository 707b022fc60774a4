"""Request body parsers whose failures are the API's own 400s."""

from django.conf import settings
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, parsers

from grading.uploads import StrictNameMultiPartParser, unsafe_names_message


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus a clear 400 for JSON nested too deeply for Python's decoder
    (which raises RecursionError, a 500 otherwise)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the document is nested too deeply.") from None


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser on the strict-name Django parser: an upload named with a path is
    refused with a 400 that says why, instead of being silently renamed."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            parser = StrictNameMultiPartParser(meta, stream, request.upload_handlers, encoding)
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise exceptions.ParseError(f"Multipart form parse error - {exc}") from None
        if parser.unsafe_names:
            raise exceptions.ValidationError({"files": [unsafe_names_message(parser.unsafe_names)]})
        return parsers.DataAndFiles(data, files)
