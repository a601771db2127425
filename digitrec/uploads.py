"""The limit on a whole request body (MAX_REQUEST_BYTES): its message, and the upload
handler that counts multipart file bytes as they stream in.

RequestSizeLimitMiddleware refuses a body whose Content-Length is over the limit before
anything reads it. This handler covers a Content-Length that understates the body: under
ASGI, Django hands the parser the whole body whatever the header says.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.formats import number_format
from django.utils.translation import gettext as _


def request_too_large_message() -> str:
    return _("The request is too large: at most %(most)s MB in all.") % {
        "most": number_format(settings.MAX_REQUEST_BYTES / 2**20, 1)}


class RequestTooLarge(RequestDataTooBig):
    """A request body over MAX_REQUEST_BYTES (the API answers 413)."""

    def __init__(self):
        super().__init__(request_too_large_message())


class TotalSizeUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: stops the parser once the files of one request pass
    MAX_REQUEST_BYTES (their other fields are bounded by DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.MAX_REQUEST_BYTES:
            raise RequestTooLarge()
        return raw_data  # on to the handler that keeps it (memory or a temporary file)

    def file_complete(self, file_size: int):
        return None
