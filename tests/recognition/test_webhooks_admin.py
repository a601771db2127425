"""Staff's view of the webhooks in the admin: every webhook with its pending and failed
deliveries and its latest ones, never its secret; staff may delete one, never add or edit."""
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from recognition import webhooks
from recognition.models import Webhook, WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recognition_webhook_changelist"


@pytest.fixture
def hooks(owner, other, settings, finished_prediction, digit_png):
    """The owner's webhook with two deliveries, one of them failed after a timeout; the other
    person's with one pending."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    slow = webhooks.webhook_create(owner=owner, url="http://127.0.0.1:9/never-answers")
    fine = webhooks.webhook_create(owner=other, url="http://127.0.0.1:9/fine")
    for person in (owner, owner, other):
        finished_prediction(person, digit_png[0])
    failed = WebhookDelivery.objects.filter(webhook=slow).earliest("created_at")
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=WebhookDelivery.Status.FAILED, attempts=1,
                                                        finished_at=timezone.now())
    WebhookAttempt.objects.create(delivery=failed, at=timezone.now(), error="read timed out", duration_ms=5003)
    return slow, fine


def test_staff_see_every_webhook_with_its_pending_and_failed_deliveries_never_its_secret(staff_client, hooks):
    slow, fine = hooks

    response = staff_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    counts = {w.url: (w.pending_count, w.failed_count) for w in response.context["cl"].result_list}
    assert counts == {slow.url: (1, 1), fine.url: (1, 0)}
    html = response.content.decode()
    assert "owner" in html and "other" in html
    assert slow.secret not in html and fine.secret not in html


def test_staff_find_a_webhook_by_its_owner(staff_client, hooks):
    slow, _ = hooks

    response = staff_client.get(reverse(CHANGELIST), {"q": "owner"})

    assert [w.pk for w in response.context["cl"].result_list] == [slow.pk]


def test_a_webhooks_page_lists_its_latest_deliveries_with_their_last_answer(staff_client, hooks):
    slow, _ = hooks

    response = staff_client.get(reverse("admin:recognition_webhook_change", args=[slow.pk]))

    assert response.status_code == 200
    deliveries = [form.instance for form in response.context["inline_admin_formsets"][0].formset.forms]
    assert {d.webhook_id for d in deliveries} == {slow.pk} and len(deliveries) == 2
    html = response.content.decode()
    assert "read timed out (5003 ms)" in html
    assert slow.secret not in html
    assert 'name="url"' not in html  # read-only: nothing to edit
    # Each row is titled with the id its receiver got in the DigitRec-Delivery header.
    assert all(str(d.pk) in html for d in deliveries) and "WebhookDelivery object" not in html
    # Each delivery links to its prediction, and no link leads where staff may not go.
    links = set(re.findall(r'href="(/admin/[^"]*)"', html))
    assert reverse("admin:recognition_prediction_change", args=[deliveries[0].prediction_id]) in links
    for link in links - {reverse("admin:logout")}:
        assert staff_client.get(link).status_code == 200, link


def test_staff_delete_a_webhook_and_its_deliveries(staff_client, hooks):
    slow, fine = hooks

    response = staff_client.post(reverse("admin:recognition_webhook_delete", args=[slow.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Webhook.objects.filter(pk=slow.pk).exists()
    assert not WebhookDelivery.objects.filter(webhook_id=slow.pk).exists()
    assert WebhookDelivery.objects.filter(webhook=fine).count() == 1


def test_staff_cannot_add_or_edit_a_webhook(staff_client, hooks):
    slow, _ = hooks

    assert staff_client.get(reverse("admin:recognition_webhook_add")).status_code == 403
    response = staff_client.post(reverse("admin:recognition_webhook_change", args=[slow.pk]),
                                 {"url": "http://127.0.0.1:9/elsewhere"})
    assert response.status_code == 403
    slow.refresh_from_db()
    assert slow.url == "http://127.0.0.1:9/never-answers"


def test_people_who_are_not_staff_are_sent_to_the_admin_login(owner_client, hooks):
    response = owner_client.get(reverse(CHANGELIST))

    assert response.status_code == 302 and "/login/" in response["Location"]
