"""The ``Idempotency-Key`` request header of the API's POSTs that create predictions.

Within IDEMPOTENCY_KEY_HOURS, the same key from the same user with the same body gets the
first answer again (same status, body and ids; ``Idempotent-Replayed: true``) and creates
nothing; the same key with another body is a 422. The body is compared as parsed (form
fields, JSON, each file's SHA-256), so a client that rebuilds a multipart body with a new
boundary still matches.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import TypeVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from digitrec.schema import error
from recognition import idempotency

T = TypeVar("T")

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces

# No pattern in the schema: an HTTP stack may trim or drop a header value that breaks it
# (" key", ""), so a client could not rely on it being refused; the text says the rule.
PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description=(
        "Makes a retry safe: within 24 hours, a request with the same key and the same body gets the "
        "first answer again (same status and ids, with `Idempotent-Replayed: true`) and creates nothing. "
        "The same key with another body is a 422 `idempotency_key_reused`. A retry sent while the first "
        "request is still being created waits for it. 1-255 printable ASCII characters, such as a UUID."))

KEY_REUSED = error("The Idempotency-Key was used before with another body (`idempotency_key_reused`).")


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy("This Idempotency-Key was used with another request body. Use a new key for a "
                                  "new request.")


def fingerprint(request) -> str:
    """SHA-256 of the method, path and parsed body (files by their content)."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    if hasattr(data, "lists"):  # form data: fields and files
        for name, values in sorted(data.lists(), key=lambda item: item[0]):
            for value in values:
                digest.update(f"{name}=".encode())
                if hasattr(value, "chunks"):
                    digest.update(b"file:" + _file_digest(value))
                else:
                    digest.update(json.dumps(str(value)).encode())
                digest.update(b"\n")
    else:
        digest.update(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()


def _file_digest(upload) -> bytes:
    file_digest = hashlib.sha256()
    for chunk in upload.chunks():
        file_digest.update(chunk)
    upload.seek(0)
    return file_digest.hexdigest().encode()


def _key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise ValidationError({HEADER: [_("An Idempotency-Key is 1 to 255 printable ASCII characters, "
                                          "without spaces.")]})
    return key


def _stored(response: Response) -> idempotency.Answer:
    return idempotency.Answer(response.status_code, response.data, response.get("Location", ""))


def answer_once(request, create: Callable[[], T], respond: Callable[[T], Response],
                settle: Callable[[T], Response | None] | None = None) -> Response:
    """``respond(create())``, once per Idempotency-Key (if the request has one).

    ``create`` runs in the key's transaction, so it must not wait for anything; ``settle``
    runs after the commit and may (waiting for a prediction). A response from ``settle`` is
    the one given, and stored for retries; with none (None), ``respond``'s is. Without a key,
    ``respond`` runs only when ``settle`` gives none.
    """
    key = _key(request)
    if key is None:
        created = create()
        return (settle(created) if settle else None) or respond(created)
    made: list[T] = []

    def first_answer() -> idempotency.Answer:
        made.append(create())
        return _stored(respond(made[0]))

    try:
        answer, record, replayed = idempotency.idempotent_answer(
            owner=request.user, key=key, fingerprint=fingerprint(request), create=first_answer)
    except idempotency.KeyReused:
        raise KeyReused()
    if replayed:
        headers = {"Idempotent-Replayed": "true", **({"Location": answer.location} if answer.location else {})}
        return Response(answer.body, status=answer.status_code, headers=headers)
    settled = settle(made[0]) if settle else None
    if settled is None:
        return Response(answer.body, status=answer.status_code,
                        headers={"Location": answer.location} if answer.location else None)
    idempotency.idempotent_answer_update(record=record, answer=_stored(settled))
    return settled
