"""Webhooks through real Celery worker processes, as the Procfile runs them: the prediction
worker that finishes a prediction queues its delivery, the webhook worker posts it and
retries a failed one after its backoff (a countdown task); a receiver that never answers
holds up no prediction."""
import json
import time

import pytest

from recognition import services, transport, webhooks
from recognition.models import Prediction, WebhookDelivery
from tests.recognition import webhook_receiver
from tests.recognition.webhook_receiver import verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def webhook_workers(django_db_setup, redis_url, tmp_path_factory):
    """A prediction worker (4 threads) and a webhook worker (6 threads, at most 4 sends of one
    owner at once) on a queue of their own, allowed to call a receiver on loopback, retrying
    after 1 s and giving a receiver 30 s to answer."""
    from tests.workers import new_queue, started_worker

    queue, media = new_queue(), tmp_path_factory.mktemp("media")
    env = {"WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_BACKOFF_SECONDS": "1", "WEBHOOK_READ_TIMEOUT_SECONDS": "30",
           "WEBHOOK_SENDS_PER_OWNER": "4"}
    with started_worker(redis_url, media, queue=queue, **env) as predictions, \
            started_worker(redis_url, media, queue=queue, consumes=[transport.webhook_queue(queue)],
                           concurrency=6, **env) as deliveries:
        yield predictions, deliveries


@pytest.fixture
def worker(webhook_workers, transactional_db, redis_url, settings):
    from tests.workers import celery_transport

    predictions, deliveries = webhook_workers
    settings.MEDIA_ROOT = predictions.media_root
    settings.WEBHOOK_ALLOW_PRIVATE = True  # this process checks the URL when it is registered
    with celery_transport(redis_url, predictions.queue):
        yield deliveries


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


def test_a_receiver_that_never_answers_holds_up_no_prediction(owner, worker, digit_png, settings):
    """Every webhook of a user points at a receiver that takes the request and never
    answers: four deliveries at a time wait out the read timeout (30 s) in the webhook
    worker, and predictions still finish meanwhile, the prediction worker's four threads
    free (they would all hang if deliveries shared their queue)."""
    with webhook_receiver.tarpit() as pit:
        for _ in range(settings.WEBHOOKS_PER_USER):
            webhooks.webhook_create(owner=owner, url=pit.url)
        first = services.prediction_create(owner=owner, image=digit_png[0], source="api")
        assert pit.wait_for(4) >= 4, worker.output  # the owner's 4 sends each hold a connection

        later = [services.prediction_create(owner=owner, image=digit_png[0], source="api") for _ in range(3)]

        finished = [transport.wait_for(p, 15) for p in [first, *later]]
        assert [p.status for p in finished] == [Prediction.Status.DONE] * 4
        assert [p.answer for p in finished] == [digit_png[1]] * 4
        assert not WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.PENDING).exists()


def test_one_owners_receivers_that_never_answer_leave_threads_for_everyone_elses(
        owner, other, worker, digit_png, settings, receiver):
    """The owner's 10 webhooks hang at a receiver that never answers; the webhook worker
    posts at most 4 of them at once (WEBHOOK_SENDS_PER_OWNER), so of its 6 threads some are
    free, and the other person's delivery arrives while the owner's still hang."""
    with webhook_receiver.tarpit() as pit:
        for _ in range(settings.WEBHOOKS_PER_USER):
            webhooks.webhook_create(owner=owner, url=pit.url)
        webhooks.webhook_create(owner=other, url=receiver.url)
        services.prediction_create(owner=owner, image=digit_png[0], source="api")
        pit.wait_for(4)

        theirs = services.prediction_create(owner=other, image=digit_png[0], source="api")
        received = receiver.wait_for(1, timeout=15)

        assert len(received) == 1, worker.output
        assert json.loads(received[0].body)["id"] == str(theirs.pk)
        assert len(pit.held) == 4  # the owner's sends, still hanging, and no more at once
