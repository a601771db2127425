"""Limits on what one API request may carry: the whole body's size, checked before it is
read, and the number of files and fields. Each is a JSON error, never Django's HTML page."""
import io
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition.models import Prediction

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"
BATCH = "/api/v1/predictions/batch/"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_body_over_max_request_bytes_is_413_from_its_content_length_before_it_is_read(owner, settings):
    settings.MAX_REQUEST_BYTES = 2**20
    response = _client(owner).generic(
        "POST", BATCH, b"x", content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(2**20 + 1), **{"wsgi.input": Unreadable()})
    assert response.status_code == 413
    error = _error(response)
    assert error["code"] == "too_large" and "1.0 MB" in error["message"]


def test_a_multipart_batch_over_max_request_bytes_is_413_and_stores_nothing(owner, settings, digit_png):
    settings.MAX_REQUEST_BYTES = 3 * len(digit_png[0])
    files = [SimpleUploadedFile(f"{i}.png", digit_png[0]) for i in range(4)]
    response = _client(owner).post(BATCH, {"images": files}, format="multipart")
    assert response.status_code == 413 and _error(response)["code"] == "too_large"
    assert not Prediction.objects.exists()


def test_a_multipart_batch_within_max_request_bytes_is_accepted(owner, settings, digit_png):
    settings.MAX_REQUEST_BYTES = 5 * len(digit_png[0]) + 4096
    files = [SimpleUploadedFile(f"{i}.png", digit_png[0]) for i in range(4)]
    response = _client(owner).post(BATCH, {"images": files}, format="multipart")
    assert response.status_code == 202 and Prediction.objects.filter(owner=owner).count() == 4


def test_a_page_post_over_max_request_bytes_is_a_413_page(client, owner, settings):
    settings.MAX_REQUEST_BYTES = 2**20
    client.force_login(owner)
    response = client.generic("POST", "/accounts/profile/", b"x", content_type="multipart/form-data; boundary=B",
                              CONTENT_LENGTH=str(2**20 + 1), **{"wsgi.input": Unreadable()})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html") and b"too large" in response.content


def test_multipart_bytes_past_a_content_length_that_lies_are_counted_and_stopped(settings):
    """An ASGI server hands Django the whole body whatever Content-Length says; the
    parser is stopped once the files it has read pass MAX_REQUEST_BYTES."""
    from django.http.multipartparser import MultiPartParser

    from digitrec.uploads import RequestTooLarge, TotalSizeUploadHandler

    settings.MAX_REQUEST_BYTES = 10_000
    body = (b"--B\r\nContent-Disposition: form-data; name=\"images\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + b"\0" * 50_000 + b"\r\n--B--\r\n")
    meta = {"CONTENT_TYPE": "multipart/form-data; boundary=B", "CONTENT_LENGTH": "100"}
    parser = MultiPartParser(meta, io.BytesIO(body), [TotalSizeUploadHandler()])
    with pytest.raises(RequestTooLarge):
        parser.parse()


@pytest.mark.parametrize("setting, fields, code", [
    ("DATA_UPLOAD_MAX_NUMBER_FILES", {"images": [b"a"] * 4}, "too_many_files"),
    ("DATA_UPLOAD_MAX_NUMBER_FIELDS", {f"f{i}": "1" for i in range(4)}, "too_many_fields"),
])
def test_too_many_files_or_fields_is_a_json_400_and_no_error_is_logged(owner, settings, caplog, setting,
                                                                       fields, code):
    setattr(settings, setting, 3)
    data = {name: [SimpleUploadedFile(f"{i}.png", v) for i, v in enumerate(value)] if isinstance(value, list)
            else value for name, value in fields.items()}
    response = _client(owner).post(BATCH, data, format="multipart")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == code and "at most 3" in error["message"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not Prediction.objects.exists()


def test_a_multipart_batch_of_101_files_is_a_json_400(owner, digit_png):
    files = [SimpleUploadedFile(f"{i}.png", digit_png[0]) for i in range(101)]
    response = _client(owner).post(BATCH, {"images": files}, format="multipart")
    assert response.status_code == 400
    assert _error(response)["message"] == "Too many files: at most 100 in one request."
    assert not Prediction.objects.exists()


def test_files_spooled_to_disk_are_checked_one_by_one_and_stored_whole(owner, settings, digit_png, number_png):
    import hashlib

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every file goes to a temporary file, as big ones do
    images = [digit_png[0], number_png[0], digit_png[0]]
    files = [SimpleUploadedFile(f"{i}.png", data) for i, data in enumerate(images)]
    response = _client(owner).post(BATCH, {"images": files, "mode": "number"}, format="multipart")
    assert response.status_code == 202
    predictions = Prediction.objects.filter(owner=owner).order_by("image_name")
    assert [p.image_name for p in predictions] == ["0.png", "1.png", "2.png"]
    for prediction, data in zip(predictions, images):
        assert prediction.image_bytes == len(data)
        assert prediction.image_sha256 == hashlib.sha256(data).hexdigest()
        with prediction.image.open("rb") as fh:
            assert fh.read() == data


def test_the_limits_endpoint_tells_a_client_how_to_size_its_batches(owner, token_client, settings):
    settings.MAX_REQUEST_BYTES = 20 * 2**20

    response = token_client(owner).get("/api/v1/limits/")

    assert response.status_code == 200
    assert response.json() == {"max_batch_images": 100, "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
                               "max_request_bytes": 20 * 2**20, "max_wait_seconds": 10, "idempotency_key_hours": 24}
