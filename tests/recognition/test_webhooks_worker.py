"""Webhooks through a real Celery worker process: the worker that finishes a prediction
queues its delivery, posts it, and retries a failed one after its backoff (a countdown task)."""
import json
import time

import pytest

from recognition import services, webhooks
from recognition.models import WebhookDelivery
from tests.recognition import webhook_receiver
from tests.recognition.webhook_receiver import verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def webhook_worker(django_db_setup, redis_url, tmp_path_factory):
    """A worker allowed to call the receiver on loopback, retrying after 1 s."""
    from tests.workers import started_worker

    with started_worker(redis_url, tmp_path_factory.mktemp("media"),
                        WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_BACKOFF_SECONDS="1") as worker:
        yield worker


@pytest.fixture
def worker(webhook_worker, transactional_db, redis_url, settings):
    from tests.workers import celery_transport

    settings.MEDIA_ROOT = webhook_worker.media_root
    settings.WEBHOOK_ALLOW_PRIVATE = True  # this process checks the URL when it is registered
    with celery_transport(redis_url, webhook_worker.queue):
        yield webhook_worker


@pytest.fixture
def receiver():
    server = webhook_receiver.start()
    yield server
    server.server.shutdown()


def test_a_worker_delivers_a_finished_prediction_and_retries_a_failure(owner, worker, receiver, digit_png):
    receiver.answers = [502]
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)

    prediction = services.prediction_create(owner=owner, image=digit_png[0], source="api")
    received = receiver.wait_for(2, timeout=60)

    assert len(received) == 2, worker.output
    first, second = received
    assert second.at - first.at >= 1  # WEBHOOK_BACKOFF_SECONDS
    assert first.body == second.body and verify(webhook.secret, second.headers["DigitRec-Signature"], second.body)
    body = json.loads(second.body)
    assert (body["id"], body["status"], body["digit"]) == (str(prediction.pk), "done", int(digit_png[1]))
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    for _ in range(100):
        delivery.refresh_from_db()
        if delivery.status == "delivered":
            break
        time.sleep(0.05)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [a.response_code for a in delivery.attempt_set.all()] == [502, 200]
