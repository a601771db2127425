"""Webhooks on the profile page: added with their secret shown once, listed with their
latest deliveries, deleted; someone else's is a 404."""
import pytest
from django.urls import reverse
from django.utils import timezone

from recognition import webhooks
from recognition.models import Webhook, WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
ADD = reverse("accounts:webhook_add")


@pytest.fixture
def public_urls_resolve_here(settings):
    """example.com may not resolve on a test machine: allow the loopback address instead."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


def test_a_webhook_is_added_and_its_secret_shown_only_then(owner_client, owner, public_urls_resolve_here):
    response = owner_client.post(ADD, {"url": "http://127.0.0.1:9/hook"}, follow=True)

    assert response.redirect_chain == [(PROFILE + "#webhooks", 302)]
    webhook = Webhook.objects.get(owner=owner)
    assert webhook.url == "http://127.0.0.1:9/hook"
    assert webhook.secret in response.content.decode()
    assert response.headers["Cache-Control"].startswith("max-age=0, no-cache, no-store")
    later = owner_client.get(PROFILE).content.decode()
    assert webhook.secret not in later and webhook.url in later


def test_a_refresh_after_adding_a_webhook_adds_no_second_one(owner_client, owner, public_urls_resolve_here):
    response = owner_client.post(ADD, {"url": "http://127.0.0.1:9/hook"})

    assert response.status_code == 302  # what the browser shows, and refreshes, is the GET after it
    owner_client.get(response.url)
    owner_client.get(response.url)
    assert Webhook.objects.filter(owner=owner).count() == 1


def test_a_webhook_secret_is_never_shown_to_another_user(owner_client, other_client, owner, other,
                                                         public_urls_resolve_here):
    owner_client.post(ADD, {"url": "http://127.0.0.1:9/hook"})
    webhook = Webhook.objects.get(owner=owner)
    assert webhook.secret not in other_client.get(PROFILE).content.decode()


def test_a_private_address_is_a_form_error(owner_client, owner):
    response = owner_client.post(ADD, {"url": "http://169.254.169.254/latest"})

    assert response.status_code == 400
    assert "public addresses only" in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_malformed_url_is_a_form_error(owner_client):
    response = owner_client.post(ADD, {"url": "not a url"})

    assert response.status_code == 400 and 'data-testid="webhook-error"' in response.content.decode()


def test_the_latest_deliveries_are_listed(owner_client, owner, public_urls_resolve_here, finished_prediction,
                                          digit_png):
    webhook = webhooks.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")
    delivery = WebhookDelivery.objects.create(webhook=webhook, prediction=finished_prediction(owner, digit_png[0]),
                                              next_attempt_at=timezone.now(), attempts=1)
    WebhookAttempt.objects.create(delivery=delivery, at=timezone.now(), response_code=503,
                                  error="The receiver answered 503.", duration_ms=12)

    page = owner_client.get(PROFILE).content.decode()

    assert 'data-testid="webhook-delivery"' in page and "The receiver answered 503." in page


def test_the_owner_deletes_a_webhook_and_an_outsider_gets_404(owner_client, other_client, owner,
                                                             public_urls_resolve_here):
    webhook = webhooks.webhook_create(owner=owner, url="http://127.0.0.1:9/hook")
    delete = reverse("accounts:webhook_delete", args=[webhook.pk])

    assert other_client.post(delete).status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()
    assert owner_client.post(delete).status_code == 302
    assert not Webhook.objects.filter(pk=webhook.pk).exists()


def test_anonymous_is_sent_to_log_in(client):
    response = client.post(ADD, {"url": "http://127.0.0.1:9/hook"})

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
