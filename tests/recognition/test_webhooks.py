"""Webhooks: registered through the API, sent each finished prediction signed with their
secret, retried with backoff, every attempt recorded; and never sent to a private address."""
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recognition import tasks, webhook_http, webhooks
from recognition.inprocess import InProcessTransport
from recognition.models import Webhook, WebhookAttempt, WebhookDelivery
from tests.recognition import webhook_receiver
from tests.recognition.webhook_receiver import verify

HOOKS = "/api/v1/webhooks/"


@pytest.fixture
def receiver():
    server = webhook_receiver.start()
    yield server
    server.server.shutdown()


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.SITE_URL = "http://testserver"  # so the body's URLs are the test client's


def _register(client, url: str) -> dict:
    response = client.post(HOOKS, {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_a_webhook_is_registered_and_its_secret_shown_once(owner, token_client, loopback_allowed, receiver):
    client = token_client(owner)

    created = _register(client, receiver.url)

    assert created["url"] == receiver.url and created["secret"].startswith("whsec_")
    assert Webhook.objects.get(pk=created["id"]).secret == created["secret"]
    listed = client.get(HOOKS).json()["results"]
    assert listed == [{"id": created["id"], "url": receiver.url, "created_at": created["created_at"]}]
    assert "secret" not in client.get(f"{HOOKS}{created['id']}/").json()


@pytest.mark.django_db
def test_another_users_webhook_is_404_and_anonymous_is_401(owner, other, token_client, loopback_allowed, receiver):
    pk = _register(token_client(owner), receiver.url)["id"]
    outsider = token_client(other)

    for response in (outsider.get(f"{HOOKS}{pk}/"), outsider.delete(f"{HOOKS}{pk}/"),
                     outsider.get(f"{HOOKS}{pk}/deliveries/")):
        assert response.status_code == 404
    assert outsider.get(HOOKS).json()["results"] == []
    assert APIClient().get(HOOKS).status_code == 401
    assert Webhook.objects.filter(pk=pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("pk", [0, -1, 2**63, 10**30])
def test_an_id_out_of_range_is_404_not_a_database_error(owner, token_client, pk):
    client = token_client(owner)

    assert client.get(f"{HOOKS}{pk}/").status_code == 404
    assert client.get(f"{HOOKS}{pk}/deliveries/").status_code == 404


@pytest.mark.django_db
def test_the_owner_deletes_a_webhook(owner, token_client, loopback_allowed, receiver):
    client = token_client(owner)
    pk = _register(client, receiver.url)["id"]

    assert client.delete(f"{HOOKS}{pk}/").status_code == 204
    assert not Webhook.objects.filter(pk=pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.0.0.7/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1/",
])
def test_private_addresses_and_other_schemes_are_refused(owner, token_client, url):
    response = token_client(owner).post(HOOKS, {"url": url}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"url"}
    assert not Webhook.objects.exists()


def test_a_host_is_checked_after_resolution(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(webhook_http.Refused, match="resolves to 127.0.0.1"):
        webhook_http.target("http://localhost:9/")
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_http.target("http://localhost:9/x?y=1").address in ("127.0.0.1", "::1")


def _finished_with_hook(owner, receiver, finished_prediction, image):
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    prediction = finished_prediction(owner, image)
    return webhook, prediction


@pytest.mark.django_db(transaction=True)
def test_a_finished_prediction_is_delivered_signed(owner, token_client, loopback_allowed, receiver,
                                                  finished_prediction, digit_png, in_process_transport):
    webhook, prediction = _finished_with_hook(owner, receiver, finished_prediction, digit_png[0])

    [request] = receiver.wait_for(1)

    assert verify(webhook.secret, request.headers["DigitRec-Signature"], request.body)
    assert not verify("whsec_another", request.headers["DigitRec-Signature"], request.body)
    assert request.path == "/hooks/digitrec" and request.headers["Content-Type"] == "application/json"
    assert request.headers["DigitRec-Event"] == "prediction.finished"
    # The body is the API's own detail of the prediction.
    assert json.loads(request.body) == token_client(owner).get(f"/api/v1/predictions/{prediction.pk}/").json()
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert request.headers["DigitRec-Delivery"] == str(delivery.pk)
    _wait_until(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.prediction_id) == ("delivered", 1, prediction.pk)
    assert [(a.response_code, a.error) for a in delivery.attempt_set.all()] == [(200, "")]


@pytest.mark.django_db(transaction=True)
def test_a_failed_prediction_is_delivered_too(owner, loopback_allowed, receiver, finished_prediction, blank_png,
                                             in_process_transport):
    _finished_with_hook(owner, receiver, finished_prediction, blank_png)

    [request] = receiver.wait_for(1)

    body = json.loads(request.body)
    assert (body["status"], body["error_code"]) == ("failed", "no_digit")


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_fails_twice_gets_it_on_the_third_try_after_backoff(
        owner, token_client, settings, loopback_allowed, receiver, finished_prediction, digit_png,
        in_process_transport):
    settings.WEBHOOK_BACKOFF_SECONDS = 0.3
    receiver.answers = [500, 503]
    webhook, _ = _finished_with_hook(owner, receiver, finished_prediction, digit_png[0])

    first, second, third = receiver.wait_for(3)

    assert second.at - first.at >= 0.3 and third.at - second.at >= 0.6  # doubling
    assert first.body == second.body == third.body
    assert all(verify(webhook.secret, r.headers["DigitRec-Signature"], r.body) for r in (first, second, third))
    _wait_until(lambda: WebhookDelivery.objects.get(webhook=webhook).status == "delivered")
    deliveries = token_client(owner).get(f"{HOOKS}{webhook.pk}/deliveries/").json()["results"]
    assert [d["status"] for d in deliveries] == ["delivered"] and deliveries[0]["attempts"] == 3
    assert [a["response_code"] for a in deliveries[0]["attempt_log"]] == [500, 503, 200]
    assert deliveries[0]["attempt_log"][0]["error"] == "The receiver answered 500."


@pytest.mark.django_db
def test_a_redirect_is_not_followed(owner, loopback_allowed, receiver, finished_prediction, digit_png,
                                    in_process_transport):
    elsewhere = webhook_receiver.start()
    receiver.redirect_to, receiver.answers = elsewhere.url, [302]
    try:
        webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
        delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=finished_prediction(owner, digit_png[0]),
                                                  next_attempt_at=timezone.now())

        tasks.deliver_webhook(str(delivery.pk))  # the Celery task, called in this process

        time.sleep(0.2)
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert len(receiver.received) == 1 and elsewhere.received == []
        delivery.refresh_from_db()
        assert attempt.response_code == 302 and "redirects are not followed" in attempt.error
        assert delivery.status == "pending" and delivery.next_attempt_at > timezone.now()
    finally:
        elsewhere.server.shutdown()


@pytest.mark.django_db
def test_a_url_that_now_resolves_to_a_private_address_is_refused_at_delivery(
        owner, settings, loopback_allowed, receiver, finished_prediction, digit_png):
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=finished_prediction(owner, digit_png[0]),
                                              next_attempt_at=timezone.now())
    settings.WEBHOOK_ALLOW_PRIVATE = False

    attempt = webhooks.delivery_attempt(delivery.pk)

    assert receiver.received == []
    assert attempt.response_code is None and "private, loopback" in attempt.error


def test_at_most_the_configured_bytes_of_an_answer_are_read(settings, receiver):
    settings.WEBHOOK_ALLOW_PRIVATE, settings.WEBHOOK_RESPONSE_MAX_BYTES = True, 1000
    receiver.body = b"x" * 1_000_000

    reply = webhook_http.post(receiver.url, b"{}", {"Content-Type": "application/json"})

    assert reply.status == 200 and len(reply.body) == 1000


@pytest.mark.django_db
def test_a_delivery_is_given_up_after_the_retry_window(owner, settings, loopback_allowed, receiver,
                                                       finished_prediction, digit_png):
    receiver.answers = [500]
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=finished_prediction(owner, digit_png[0]),
                                              next_attempt_at=timezone.now())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.WEBHOOK_RETRY_HOURS))

    webhooks.delivery_attempt(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.finished_at is not None and delivery.attempts == 1


@pytest.mark.django_db
def test_a_delivery_not_due_or_finished_is_left_alone(owner, loopback_allowed, receiver, finished_prediction,
                                                      digit_png):
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    prediction = finished_prediction(owner, digit_png[0])
    later = WebhookDelivery.objects.create(webhook=webhook, prediction=prediction,
                                           next_attempt_at=timezone.now() + timedelta(minutes=5))
    done = WebhookDelivery.objects.create(webhook=webhook, prediction=prediction, next_attempt_at=timezone.now(),
                                          status="delivered")

    assert webhooks.delivery_attempt(later.pk) is None and webhooks.delivery_attempt(done.pk) is None
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_an_owner_with_as_many_sends_going_as_allowed_waits_a_moment(owner, settings, loopback_allowed, receiver,
                                                                      finished_prediction, digit_png,
                                                                      in_process_transport):
    settings.WEBHOOK_SENDS_PER_OWNER = 1
    prediction = finished_prediction(owner, digit_png[0])
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=prediction, next_attempt_at=timezone.now())

    with webhooks._owner_send_slot(owner.pk) as free:  # another of the owner's sends, going on
        assert free
        assert webhooks.delivery_attempt(delivery.pk) is None
        assert receiver.wait_for(1, timeout=0.5) == []
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 0)

    [request] = receiver.wait_for(1, timeout=webhooks.OWNER_BUSY_RETRY_SECONDS + 10)  # sent again, once free
    assert request.headers["DigitRec-Delivery"] == str(delivery.pk)


@pytest.mark.django_db(transaction=True)
def test_deliveries_due_when_the_process_starts_are_sent(owner, loopback_allowed, receiver, finished_prediction,
                                                         digit_png, in_process_transport):
    """Nothing is lost across a restart: the rows are the queue, and a starting process sends what is due."""
    prediction = finished_prediction(owner, digit_png[0])
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    in_process_transport.shutdown()  # the process stops (its sweepers with it)...
    # ...after the prediction finished, before sending it.
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=prediction,
                                              next_attempt_at=timezone.now() - timedelta(minutes=1))
    # Only this delivery's requests count: the receiver's port may have been another test
    # process's receiver a moment ago, and a late retry of theirs may still reach it.
    def ours():
        return [r for r in receiver.received if r.headers.get("DigitRec-Delivery") == str(delivery.pk)]

    receiver.wait_for(1, timeout=0.5)
    assert ours() == []

    restarted = InProcessTransport(in_process_transport.work)
    try:
        restarted.warm_up()
        _wait_until(ours, timeout=20)
    finally:
        restarted.shutdown()

    assert len(ours()) == 1


@pytest.mark.django_db
def test_the_sweep_sends_overdue_deliveries_only(owner, settings, loopback_allowed, receiver, finished_prediction,
                                                 digit_png, monkeypatch):
    from recognition import transport

    sent = []
    monkeypatch.setattr(transport, "deliver", lambda ids, delay=0: sent.extend(ids))
    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    prediction = finished_prediction(owner, digit_png[0])
    now = timezone.now()
    overdue, just_due, later = (WebhookDelivery.objects.create(webhook=webhook, prediction=prediction,
                                                               next_attempt_at=now + timedelta(seconds=offset))
                                for offset in (-settings.WEBHOOK_SWEEP_SECONDS - 1, 0, 60))

    assert webhooks.deliveries_send_due() == 1
    assert sent == [str(overdue.pk)]


@pytest.mark.django_db
def test_a_delivery_whose_prediction_was_deleted_is_dropped(owner, loopback_allowed, receiver, finished_prediction,
                                                            digit_png):
    from recognition import services

    webhook = webhooks.webhook_create(owner=owner, url=receiver.url)
    prediction = finished_prediction(owner, digit_png[0])
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=prediction, next_attempt_at=timezone.now())
    services.prediction_delete(prediction=prediction)

    assert webhooks.delivery_attempt(delivery.pk) is None
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
