"""Predictions through a real Celery worker process, real Redis and real PostgreSQL."""
import base64
import time

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recognition import services
from recognition.models import Prediction


def _wait_until_finished(prediction: Prediction, worker, timeout: float = 60) -> Prediction:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prediction.refresh_from_db()
        if prediction.is_finished:
            return prediction
        time.sleep(0.05)
    raise AssertionError(f"prediction still {prediction.status} after {timeout} s; worker said:\n{worker.output}")


def test_a_drawn_digit_goes_from_pending_to_done_in_a_worker(celery_worker, owner, digit_png):
    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="draw")
    # Created pending (the row as written); the module's warm worker may finish it at once.
    assert prediction.status == Prediction.Status.PENDING
    prediction = _wait_until_finished(prediction, celery_worker)
    assert prediction.status == Prediction.Status.DONE, prediction.error
    assert prediction.answer == digit_png[1] and len(prediction.probabilities) == 10
    assert prediction.model_version and prediction.started_at and prediction.finished_at


def test_api_wait_answers_201_with_the_finished_prediction(celery_worker, owner, number_png):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    response = client.post("/api/v1/predictions/?wait=10",
                           {"image": base64.b64encode(number_png[0]).decode(), "mode": "number"}, format="json")
    assert response.status_code == 201, (response.json(), celery_worker.output)
    assert response.json()["status"] == "done" and response.json()["number"] == number_png[1]
    # The answer came from the worker's announcement, not from the row: both must agree.
    assert client.get(f"/api/v1/predictions/{response.json()['id']}/").json() == response.json()


def test_api_without_wait_answers_202_then_the_worker_finishes_it(celery_worker, owner, digit_png):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    response = client.post("/api/v1/predictions/", {"image": base64.b64encode(digit_png[0]).decode()},
                           format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    prediction = _wait_until_finished(Prediction.objects.get(pk=response.json()["id"]), celery_worker)
    assert prediction.answer == digit_png[1]


def test_a_preview_is_answered_by_the_worker_through_redis_and_stores_nothing(celery_worker, number_png):
    from django.core.cache import cache

    cache.clear()  # throttle counters
    files_before = sorted(celery_worker.media_root.rglob("*"))
    response = APIClient().post("/api/v1/recognize/", {
        "image": base64.b64encode(number_png[0]).decode(), "mode": "number"}, format="json")

    assert response.status_code == 200, (response.json(), celery_worker.output)
    assert response.json()["status"] == "done" and response.json()["number"] == number_png[1]
    assert Prediction.objects.count() == 0
    assert sorted(celery_worker.media_root.rglob("*")) == files_before


def test_a_preview_nobody_answers_in_time_is_a_503_busy(transactional_db, redis_url, settings, digit_png):
    from django.core.cache import cache

    from tests.workers import celery_transport

    cache.clear()
    settings.PREVIEW_TIMEOUT_SECONDS = 1
    with celery_transport(redis_url):  # a queue no worker takes
        response = APIClient().post("/api/v1/recognize/", {"image": base64.b64encode(digit_png[0]).decode()},
                                    format="json")

    assert response.status_code == 503 and response.json()["error"]["code"] == "busy"
