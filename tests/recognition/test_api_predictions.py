import base64
import uuid

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition.models import Prediction

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def test_it_accepts_a_multipart_file_and_answers_202_pending_with_a_location(owner, digit_png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(owner).post(LIST, {"image": SimpleUploadedFile("seven.png", digit_png[0])},
                                   format="multipart")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["source"] == "api" and body["mode"] == "digit"
    assert response["Location"].endswith(f"/api/v1/predictions/{body['id']}/")
    row = Prediction.objects.get(pk=body["id"])
    assert row.owner == owner and row.image_name == "seven.png"


@pytest.mark.parametrize("encoder", [
    lambda b: base64.b64encode(b).decode(),
    lambda b: "data:image/png;base64," + base64.b64encode(b).decode(),
    lambda b: base64.encodebytes(b).decode(),  # MIME style: a line break every 76 characters
])
def test_it_accepts_base64_and_data_urls_in_json(owner, number_png, encoder):
    response = _client(owner).post(LIST, {"image": encoder(number_png[0]), "mode": "number"}, format="json")
    assert response.status_code == 202
    row = Prediction.objects.get(pk=response.json()["id"])
    assert row.mode == "number" and row.image.read() == number_png[0]


def test_a_finished_prediction_has_every_documented_field(owner, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0], source="api")
    body = _client(owner).get(f"{LIST}{prediction.pk}/").json()
    assert body["status"] == "done" and body["digit"] == int(digit_png[1]) and body["number"] is None
    assert len(body["probabilities"]) == 10 and 0 < body["confidence"] <= 1
    assert body["digits"][0]["box"] and len(body["digits"][0]["probabilities"]) == 10
    assert body["model_version"] and body["completed_at"] and body["error"] is None and body["error_code"] is None
    assert body["feedback_label"] is None
    assert body["image_url"].endswith(f"/predictions/{prediction.pk}/image")


def test_a_number_answers_a_string(owner, number_png, finished_prediction):
    prediction = finished_prediction(owner, number_png[0], mode="number", source="api")
    body = _client(owner).get(f"{LIST}{prediction.pk}/").json()
    assert body["number"] == number_png[1] and body["digit"] is None and body["probabilities"] is None
    assert len(body["digits"]) == len(number_png[1])


def test_the_list_is_mine_only_newest_first_and_filterable(owner, other, digit_png, blank_png, finished_prediction):
    old = finished_prediction(owner, digit_png[0], source="api")
    blank = finished_prediction(owner, blank_png, source="api")
    finished_prediction(other, digit_png[0], source="api")
    body = _client(owner).get(LIST).json()
    assert body["count"] == 2 and [r["id"] for r in body["results"]] == [str(blank.pk), str(old.pk)]
    assert {"next", "previous"} <= set(body)
    failed = _client(owner).get(LIST, {"status": "failed"}).json()
    assert [r["id"] for r in failed["results"]] == [str(blank.pk)]
    assert failed["results"][0]["error_code"] == "no_digit" and "No digit found" in failed["results"][0]["error"]
    by_digit = _client(owner).get(LIST, {"digit": digit_png[1]}).json()
    assert [r["id"] for r in by_digit["results"]] == [str(old.pk)]
    assert _client(owner).get(LIST, {"source": "draw"}).json()["count"] == 0


def test_a_client_chooses_the_page_size_up_to_100(owner, other):
    Prediction.objects.bulk_create(
        [Prediction(owner=owner, image=f"predictions/{i}.png", image_bytes=1, source="api") for i in range(105)]
        + [Prediction(owner=other, image="predictions/x.png", image_bytes=1, source="api")])
    client = _client(owner)
    assert len(client.get(LIST).json()["results"]) == 20
    one = client.get(LIST, {"page_size": 1}).json()
    assert one["count"] == 105 and len(one["results"]) == 1 and "page_size=1" in one["next"]
    assert len(client.get(LIST, {"page_size": 1000}).json()["results"]) == 100
    for wrong in ("0", "-3", "many", "1.5", "٣"):  # not a positive whole number
        response = client.get(LIST, {"page_size": wrong})
        assert response.status_code == 400
        assert _error(response)["fields"] == {"page_size": ["A whole number from 1 to 100."]}


def test_feedback_and_delete(owner, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0], source="api")
    response = _client(owner).post(f"{LIST}{prediction.pk}/feedback/", {"label": "3"}, format="json")
    assert response.status_code == 200 and response.json()["feedback_label"] == "3"
    bad = _client(owner).post(f"{LIST}{prediction.pk}/feedback/", {"label": "three"}, format="json")
    assert bad.status_code == 400 and "label" in _error(bad)["fields"]
    prediction.refresh_from_db()
    assert prediction.feedback_label == "3"
    assert _client(owner).delete(f"{LIST}{prediction.pk}/").status_code == 204
    assert not Prediction.objects.filter(pk=prediction.pk).exists()


def test_another_users_prediction_is_404_on_every_verb(owner, other, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0], source="api")
    outsider = _client(other)
    for response in (
        outsider.get(f"{LIST}{prediction.pk}/"),
        outsider.delete(f"{LIST}{prediction.pk}/"),
        outsider.post(f"{LIST}{prediction.pk}/feedback/", {"label": "1"}, format="json"),
        outsider.get(f"/predictions/{prediction.pk}/image"),
    ):
        assert response.status_code == 404
    assert _error(outsider.get(f"{LIST}{prediction.pk}/"))["code"] == "not_found"
    prediction.refresh_from_db()
    assert prediction.feedback_label == ""


def test_a_token_client_can_fetch_its_own_image_and_model_input(owner, digit_png, finished_prediction):
    prediction = finished_prediction(owner, digit_png[0], source="api")
    body = _client(owner).get(f"{LIST}{prediction.pk}/").json()
    image = _client(owner).get(body["image_url"])
    assert image.status_code == 200 and b"".join(image.streaming_content) == digit_png[0]
    model_input = _client(owner).get(body["digits"][0]["input_url"])
    assert model_input.status_code == 200 and model_input["Content-Type"] == "image/png"
    assert _client().get(body["image_url"], HTTP_AUTHORIZATION="Token wrong").status_code == 401


def test_an_unknown_id_is_404(owner):
    assert _client(owner).get(f"{LIST}{uuid.uuid4()}/").status_code == 404
    assert _client(owner).get(f"{LIST}not-a-uuid/").status_code == 404


def test_anonymous_gets_401_everywhere(digit_png):
    anonymous = _client()
    for response in (anonymous.get(LIST), anonymous.post(LIST, {}, format="json"),
                     anonymous.get(f"{LIST}{uuid.uuid4()}/"), anonymous.get("/api/v1/model/")):
        assert response.status_code == 401
        assert _error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("body, fmt, status, code", [
    ({}, "json", 400, "invalid"),
    ({"image": ""}, "json", 400, "invalid"),
    ({"image": "%%%not base64%%%"}, "json", 400, "invalid"),
    ({"image": "data:text/plain;base64,aGVsbG8="}, "json", 400, "invalid"),
    ({"image": base64.b64encode(b"hello, not an image").decode()}, "json", 415, "not_an_image"),
    ({"image": "aGVsbG8=", "mode": "letters"}, "json", 400, "invalid"),
])
def test_bad_requests_get_a_clear_json_error_and_store_nothing(owner, body, fmt, status, code):
    response = _client(owner).post(LIST, body, format=fmt)
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code and error["message"]
    assert not Prediction.objects.exists()


def test_a_file_over_the_limit_is_413(owner, settings, digit_png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_UPLOAD_BYTES = 2048
    big = digit_png[0] + b"\0" * 4096
    response = _client(owner).post(LIST, {"image": SimpleUploadedFile("big.png", big)}, format="multipart")
    assert response.status_code == 413 and _error(response)["code"] == "too_large"
    assert not Prediction.objects.exists()


def test_a_json_body_over_the_limit_is_413_json(owner, settings, digit_png):
    """Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before DRF parses it; the API
    still answers in its own format, not with Django's HTML 400 page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
    big = base64.b64encode(digit_png[0] + b"\0" * 2**20).decode()
    response = _client(owner).post(LIST, {"image": big}, format="json")
    assert response.status_code == 413
    assert _error(response) == {"code": "too_large", "fields": {},
                                "message": "The request is too large: at most 1.0 MB in all."}
    assert not Prediction.objects.exists()


def test_malformed_json_is_400(owner):
    response = _client(owner).generic("POST", LIST, "{not json", content_type="application/json")
    assert response.status_code == 400 and _error(response)["code"] == "parse_error"


def test_a_batch_accepts_up_to_100_images(owner, digit_png):
    images = [base64.b64encode(digit_png[0]).decode()] * 3
    response = _client(owner).post(f"{LIST}batch/", {"images": images, "mode": "digit"}, format="json")
    assert response.status_code == 202
    assert len(response.json()) == 3 and Prediction.objects.filter(owner=owner).count() == 3


def test_a_batch_of_101_is_refused_whole(owner, digit_png):
    images = [base64.b64encode(digit_png[0]).decode()] * 101
    response = _client(owner).post(f"{LIST}batch/", {"images": images}, format="json")
    assert response.status_code == 400 and "images" in _error(response)["fields"]
    assert not Prediction.objects.exists()


def test_wait_outside_0_to_10_is_400(owner, digit_png):
    response = _client(owner).post(f"{LIST}?wait=11", {"image": base64.b64encode(digit_png[0]).decode()},
                                   format="json")
    assert response.status_code == 400 and "wait" in _error(response)["fields"]


@pytest.mark.parametrize("url, field", [(LIST, "image"), (LIST + "batch/", "images"), ("/api/v1/recognize/", "image")])
def test_an_empty_mode_field_is_refused_and_stores_nothing(owner, digit_png, url, field):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(owner).post(url, {field: SimpleUploadedFile("seven.png", digit_png[0]), "mode": ""},
                                   format="multipart")
    assert response.status_code == 400
    assert "mode" in _error(response)["fields"]
    assert not Prediction.objects.exists()


def test_the_model_endpoint_describes_the_active_model(owner):
    from ml.artifact import load_metadata
    from recognition import selectors

    body = _client(owner).get("/api/v1/model/").json()
    metadata = load_metadata(selectors.serving_model_dir())
    # The model's own figures (its accuracy floor is tests/ml/test_model.py's to guard).
    assert body["version"] == metadata["version"] and body["test_accuracy"] == metadata["test_accuracy"] > 0.99
    assert set(body["per_class_accuracy"]) == {str(d) for d in range(10)} and body["trained_at"]


@pytest.mark.parametrize("name, content", [
    ("empty.png", b""),
    ("notes.png", b"these are my notes, not a picture"),
    ("truncated.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"),
])
def test_a_file_that_is_not_a_readable_image_is_415(owner, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(owner).post(LIST, {"image": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 415 and _error(response)["code"] == "not_an_image"
    assert not Prediction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_wait_in_the_embedded_mode_answers_201_with_what_the_row_holds(owner, digit_png, in_process_transport):
    client = _client(owner)
    response = client.post(f"{LIST}?wait=10", {"image": base64.b64encode(digit_png[0]).decode()},
                           format="json")
    in_process_transport.shutdown()
    assert response.status_code == 201 and response.json()["digit"] == int(digit_png[1])
    assert client.get(f"{LIST}{response.json()['id']}/").json() == response.json()


@pytest.mark.parametrize("path", [f"{LIST}not-a-uuid/", f"{LIST}not-a-uuid/feedback/", "/api/v1/nothing-here/"])
def test_an_address_no_route_takes_is_a_json_404(owner, path):
    response = _client(owner).get(path)
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_has_feedback_other_than_true_or_false_is_400(owner):
    response = _client(owner).get(LIST, {"has_feedback": "null"})
    assert response.status_code == 400 and "has_feedback" in _error(response)["fields"]


def test_a_page_answers_its_lines_top_to_bottom(owner, page_png, finished_prediction):
    png, labels = page_png
    prediction = finished_prediction(owner, png, mode="page", source="api")
    body = _client(owner).get(f"{LIST}{prediction.pk}/").json()
    assert body["status"] == "done" and body["mode"] == "page"
    assert body["number"] == "\n".join(labels) and body["digit"] is None
    assert [line["number"] for line in body["lines"]] == labels
    for line in body["lines"]:
        assert len(line["box"]) == 4 and 0 < line["confidence"] <= 1
        assert "".join(str(d["digit"]) for d in line["digits"]) == line["number"]
        assert all(d["input_url"] and len(d["probabilities"]) == 10 for d in line["digits"])
    product = 1.0
    for line in body["lines"]:
        product *= line["confidence"]
    assert body["confidence"] == pytest.approx(product, rel=1e-4)
    assert len(body["digits"]) == sum(len(label) for label in labels)
    prediction.refresh_from_db()
    assert prediction.answer == "\n".join(labels) and [line["number"] for line in prediction.lines] == labels


def test_a_page_over_the_line_limit_fails_with_a_clear_error(owner, page_png, finished_prediction, monkeypatch):
    from ml import pages

    monkeypatch.setattr(pages, "MAX_LINES", 2)
    prediction = finished_prediction(owner, page_png[0], mode="page", source="api")
    body = _client(owner).get(f"{LIST}{prediction.pk}/").json()
    assert body["status"] == "failed" and body["error_code"] == "too_many_lines"
    assert body["error"] == "The page has 3 lines; at most 2 are read. Send it in parts." and body["lines"] is None


def test_other_modes_have_no_lines(owner, number_png, finished_prediction):
    prediction = finished_prediction(owner, number_png[0], mode="number", source="api")
    assert _client(owner).get(f"{LIST}{prediction.pk}/").json()["lines"] is None


def test_the_batch_endpoint_takes_page_mode(owner, page_png):
    response = _client(owner).post(f"{LIST}batch/", {"images": [base64.b64encode(page_png[0]).decode()],
                                                     "mode": "page"}, format="json")
    assert response.status_code == 202
    assert Prediction.objects.get(pk=response.json()[0]["id"]).mode == "page"
