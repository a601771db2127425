"""Idempotency keys on the POSTs that create predictions: a retry gets the first answer and
creates nothing, also when the retries race each other on real PostgreSQL."""
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from recognition.idempotency import idempotency_keys_delete_expired
from recognition.models import IdempotencyKey, Prediction

LIST = "/api/v1/predictions/"
BATCH = "/api/v1/predictions/batch/"


def _upload(png: bytes, name: str = "seven.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png, content_type="image/png")


@pytest.mark.django_db
def test_it_answers_a_retried_post_with_the_first_answer_and_one_row(owner, token_client, digit_png):
    client = token_client(owner)

    first = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    # A new multipart body (a new boundary) with the same fields and file is the same request.
    again = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Location"] == first["Location"] and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Prediction.objects.filter(owner=owner).count() == 1
    assert IdempotencyKey.objects.get(owner=owner, key="k-1").body["id"] == first.json()["id"]


@pytest.mark.django_db
def test_it_answers_a_retried_batch_with_the_same_ids(owner, token_client, digit_png, number_png):
    client = token_client(owner)
    body = {"images": [_upload(digit_png[0], "a.png"), _upload(number_png[0], "b.png")], "mode": "number"}

    first = client.post(BATCH, body, format="multipart", HTTP_IDEMPOTENCY_KEY="batch-1")
    body = {"images": [_upload(digit_png[0], "a.png"), _upload(number_png[0], "b.png")], "mode": "number"}
    again = client.post(BATCH, body, format="multipart", HTTP_IDEMPOTENCY_KEY="batch-1")

    assert first.status_code == again.status_code == 202
    assert [p["id"] for p in again.json()] == [p["id"] for p in first.json()]
    assert Prediction.objects.filter(owner=owner).count() == 2


@pytest.mark.django_db
def test_a_key_reused_with_another_body_is_422_and_creates_nothing(owner, token_client, digit_png, number_png):
    client = token_client(owner)
    client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-2")

    response = client.post(LIST, {"image": _upload(number_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-2")
    other_mode = client.post(LIST, {"image": _upload(digit_png[0]), "mode": "number"}, format="multipart",
                             HTTP_IDEMPOTENCY_KEY="k-2")

    assert response.status_code == other_mode.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused" and "another request body" in error["message"]
    assert error["fields"] == {}
    assert Prediction.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_json_bodies_match_whatever_the_key_order(owner, token_client, digit_png):
    import base64

    client = token_client(owner)
    image = base64.b64encode(digit_png[0]).decode()

    first = client.post(LIST, {"image": image, "mode": "digit"}, format="json", HTTP_IDEMPOTENCY_KEY="j")
    again = client.post(LIST, {"mode": "digit", "image": image}, format="json", HTTP_IDEMPOTENCY_KEY="j")

    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_are_per_user(owner, other, token_client, digit_png):
    mine = token_client(owner).post(LIST, {"image": _upload(digit_png[0])}, format="multipart",
                                    HTTP_IDEMPOTENCY_KEY="shared")
    theirs = token_client(other).post(LIST, {"image": _upload(digit_png[0])}, format="multipart",
                                      HTTP_IDEMPOTENCY_KEY="shared")

    assert mine.json()["id"] != theirs.json()["id"]
    assert Prediction.objects.get(pk=theirs.json()["id"]).owner == other


@pytest.mark.django_db
def test_a_refused_request_leaves_the_key_free(owner, token_client, digit_png):
    client = token_client(owner)

    refused = client.post(LIST, {"image": _upload(b"not an image", "x.png")}, format="multipart",
                          HTTP_IDEMPOTENCY_KEY="k-3")
    accepted = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-3")

    assert refused.status_code == 415 and accepted.status_code == 202
    assert Prediction.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_400(owner, token_client, digit_png, key):
    response = token_client(owner).post(LIST, {"image": _upload(digit_png[0])}, format="multipart",
                                        HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Prediction.objects.exists()


@pytest.mark.django_db
def test_an_expired_key_is_new_again_and_the_sweep_deletes_expired_keys(owner, token_client, digit_png):
    client = token_client(owner)
    first = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))

    again = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="old")

    assert again.json()["id"] != first.json()["id"] and "Idempotent-Replayed" not in again
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency_keys_delete_expired() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)  # the prediction is sent once committed
def test_a_waited_answer_is_the_one_replayed(owner, token_client, digit_png, in_process_transport):
    in_process_transport.warm_up().result()  # the model loaded, as the server does at start-up
    client = token_client(owner)

    first = client.post(f"{LIST}?wait=10", {"image": _upload(digit_png[0])}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="w")
    again = client.post(f"{LIST}?wait=10", {"image": _upload(digit_png[0])}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="w")

    assert first.status_code == 201 and first.json()["status"] == "done"
    assert (again.status_code, again.json()) == (201, first.json())


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_one_row(owner, token_client, digit_png, in_process_transport):
    assert connection.vendor == "postgresql"
    token = token_client(owner)._credentials["HTTP_AUTHORIZATION"]
    threads, start = 8, threading.Barrier(8)
    answers = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        start.wait()
        try:
            response = client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart",
                                   HTTP_IDEMPOTENCY_KEY="race")
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(answers) == threads
    assert {code for code, _ in answers} == {202}
    assert len({pk for _, pk in answers}) == 1
    assert Prediction.objects.filter(owner=owner).count() == 1
    assert IdempotencyKey.objects.filter(owner=owner, key="race").count() == 1


@pytest.mark.django_db
def test_the_reuse_error_follows_accept_language(owner, token_client, digit_png, number_png):
    client = token_client(owner)
    client.post(LIST, {"image": _upload(digit_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="lang")

    response = client.post(LIST, {"image": _upload(number_png[0])}, format="multipart", HTTP_IDEMPOTENCY_KEY="lang",
                           HTTP_ACCEPT_LANGUAGE="hi")

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("यह Idempotency-Key")
