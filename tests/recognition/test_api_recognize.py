"""POST /api/v1/recognize/: an answer at once, nothing stored, throttled, for anyone."""
import base64

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from digitrec.throttling import RecognizeThrottle, RecognizeUserThrottle
from recognition.models import Prediction

pytestmark = pytest.mark.django_db

URL = "/api/v1/recognize/"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def in_process(in_process_transport):
    """Previews run in this process's threads, as in `make run`, with the model loaded as
    the server loads it when it starts (the first load takes longer than a preview may)."""
    in_process_transport.warm_up().result()


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_it_answers_a_digit_at_once_for_an_anonymous_visitor(digit_png, media_in_tmp):
    response = APIClient().post(URL, {"image": _data_url(digit_png[0])}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "done" and body["mode"] == "digit" and body["digit"] == int(digit_png[1])
    assert len(body["probabilities"]) == 10 and 0 < body["confidence"] <= 1 and body["model_version"]
    assert body["digits"][0]["input_url"].startswith("data:image/png;base64,")
    assert "id" not in body and "image_url" not in body
    assert Prediction.objects.count() == 0 and _files(media_in_tmp) == []


def test_it_reads_a_number_for_a_signed_in_user_and_stores_nothing(owner, number_png, media_in_tmp):
    client = APIClient()
    client.force_authenticate(owner)
    response = client.post(URL, {"image": base64.b64encode(number_png[0]).decode(), "mode": "number"},
                           format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == number_png[1] and len(body["digits"]) == len(number_png[1])
    assert all(len(d["box"]) == 4 for d in body["digits"])
    assert Prediction.objects.count() == 0 and _files(media_in_tmp) == []


def test_it_reads_a_page_line_by_line_and_stores_nothing(page_png, media_in_tmp):
    response = APIClient().post(URL, {"image": _data_url(page_png[0]), "mode": "page"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "page" and body["number"] == "\n".join(page_png[1])
    assert [line["number"] for line in body["lines"]] == page_png[1]
    assert body["lines"][0]["digits"][0]["input_url"].startswith("data:image/png;base64,")
    assert Prediction.objects.count() == 0 and _files(media_in_tmp) == []


def test_a_blank_drawing_is_a_failed_answer_that_says_why(blank_png):
    response = APIClient().post(URL, {"image": _data_url(blank_png)}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "failed" and response.json()["error_code"] == "no_digit"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "invalid"),
    ({"image": "not base64!"}, 400, "invalid"),
    ({"image": "data:text/plain;base64,aGVsbG8="}, 400, "invalid"),
    ({"image": base64.b64encode(b"hello, not an image").decode()}, 415, "not_an_image"),
])
def test_bad_input_is_a_json_error(body, status, code):
    response = APIClient().post(URL, body, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert Prediction.objects.count() == 0


def test_a_bad_mode_is_a_field_error(digit_png):
    response = APIClient().post(URL, {"image": _data_url(digit_png[0]), "mode": "letters"}, format="json")

    assert response.status_code == 400 and "mode" in response.json()["error"]["fields"]


def test_anonymous_visitors_are_throttled_per_client_ip_with_retry_after(monkeypatch, digit_png):
    monkeypatch.setattr(RecognizeThrottle, "THROTTLE_RATES", {"recognize": "2/min"})
    body = {"image": _data_url(digit_png[0])}

    codes = [APIClient().post(URL, body, format="json", REMOTE_ADDR="203.0.113.7").status_code
             for _ in range(3)]
    elsewhere = APIClient().post(URL, body, format="json", REMOTE_ADDR="203.0.113.8")

    assert codes == [200, 200, 429] and elsewhere.status_code == 200
    last = APIClient().post(URL, body, format="json", REMOTE_ADDR="203.0.113.7")
    assert last.json()["error"]["code"] == "throttled" and 0 < int(last["Retry-After"]) <= 60


def test_signed_in_users_have_a_rate_of_their_own(monkeypatch, owner, other, digit_png):
    monkeypatch.setattr(RecognizeUserThrottle, "THROTTLE_RATES", {"recognize_user": "1/min"})
    body = {"image": _data_url(digit_png[0])}

    def post(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client.post(URL, body, format="json").status_code

    assert [post(owner), post(owner), post(other)] == [200, 429, 200]


def test_no_answer_in_time_is_a_503_busy(monkeypatch, digit_png, in_process_transport):
    monkeypatch.setattr(in_process_transport, "preview", lambda image, mode, timeout: None)

    response = APIClient().post(URL, {"image": _data_url(digit_png[0])}, format="json")

    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "busy"


def test_a_bad_token_is_refused_even_though_no_sign_in_is_needed(digit_png):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.post(URL, {"image": _data_url(digit_png[0])}, format="json").status_code == 401
