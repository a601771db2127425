"""Webhooks: a user's URLs, and the delivery of each finished prediction to them.

A delivery is a row (WebhookDelivery), written in the transaction that finishes the
prediction, so none is lost to a crash or a restart; the transport sends its id to a
worker (or a thread, in the embedded mode), and a sweep sends again whatever is due. An
attempt first claims the row by pushing its due time past the attempt's timeout, so two
copies of one delivery's task never POST at once. A process posts at most
WEBHOOK_SENDS_PER_OWNER of one owner's deliveries at once: the rest wait a moment and come
back, so receivers that never answer hold only so many of the threads everyone shares.
"""
from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from urllib3.exceptions import HTTPError

from recognition import transport, webhook_http
from recognition.models import Prediction, Webhook, WebhookAttempt, WebhookDelivery
from recognition.slots import Slots

log = logging.getLogger(__name__)

EVENT = "prediction.finished"


def webhook_create(*, owner, url: str) -> Webhook:
    """A new webhook for ``owner``; its secret is readable on the returned object, and the
    caller shows it once. Raises ValidationError for a URL a webhook may not call."""
    if Webhook.objects.filter(owner=owner).count() >= settings.WEBHOOKS_PER_USER:
        raise ValidationError(_("You have %(count)d webhooks, the most allowed: delete one first.")
                              % {"count": settings.WEBHOOKS_PER_USER}, code="too_many_webhooks")
    try:
        webhook_http.target(url)
    except webhook_http.Refused as exc:
        raise ValidationError(str(exc), code="refused_url") from None
    return Webhook.objects.create(owner=owner, url=url, secret=f"whsec_{secrets.token_urlsafe(32)}")


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete it with its deliveries: nothing more is sent to it."""
    webhook.delete()


def owner_has_webhook() -> Exists:
    """Whether a prediction's owner has a webhook, as an annotation: asked in the query that
    locks a batch's rows, so a batch with no webhook needs no query of its own."""
    return Exists(Webhook.objects.filter(owner_id=OuterRef("owner_id")))


def deliveries_create(prediction_ids: Iterable) -> list:
    """A delivery for each webhook of each prediction's owner; call it in the transaction that
    finishes the predictions. Their ids are sent once that transaction commits."""
    ids = list(prediction_ids)
    if not ids:
        return []
    owners = Prediction.objects.filter(pk__in=ids).values("owner_id")
    hooks: dict[int, list[int]] = {}
    for webhook_id, owner_id in Webhook.objects.filter(owner_id__in=owners).values_list("pk", "owner_id"):
        hooks.setdefault(owner_id, []).append(webhook_id)
    if not hooks:  # the common case: one query
        return []
    predictions = Prediction.objects.filter(pk__in=ids, owner_id__in=hooks).values_list("pk", "owner_id")
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(webhook_id=webhook_id, prediction_id=pk, next_attempt_at=now)
        for pk, owner_id in predictions for webhook_id in hooks[owner_id]])
    delivery_ids = [str(d.pk) for d in deliveries]
    transaction.on_commit(lambda: transport.deliver(delivery_ids))
    return delivery_ids


def _claim(delivery_id) -> WebhookDelivery | None:
    """The delivery, if it is pending and due, with its due time pushed past this attempt."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS
                            + settings.WEBHOOK_READ_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING,
                                             next_attempt_at__lte=now).update(next_attempt_at=lease)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)


def _payload(delivery: WebhookDelivery) -> dict:
    from recognition.serializers import PredictionSerializer  # the API's own detail body

    prediction = Prediction.objects.get(pk=delivery.prediction_id)
    return PredictionSerializer(prediction, context={"request": _SiteRequest()}).data


class _SiteRequest:
    """Stands in for a request when there is none: absolute URLs from SITE_URL."""

    def build_absolute_uri(self, path: str) -> str:
        return f"{settings.SITE_URL}{path}"


def backoff_seconds(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling, capped, with up
    to a quarter added at random so that many failed deliveries do not retry in step."""
    delay = min(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_MAX_BACKOFF_SECONDS)
    return delay * random.uniform(1, 1.25)


# When one owner's sends fill WEBHOOK_SENDS_PER_OWNER, another of theirs comes back after this.
OWNER_BUSY_RETRY_SECONDS = 2
_sends = Slots()


def _owner_send_slot(owner_id: int) -> AbstractContextManager[bool]:
    """Yields whether this process may post one more of ``owner_id``'s deliveries now; the
    slot is given back however the attempt ends."""
    return _sends.slot(owner_id, per_key=settings.WEBHOOK_SENDS_PER_OWNER)


def delivery_attempt(delivery_id) -> WebhookAttempt | None:
    """POST the delivery's prediction to its webhook once, if it is due; record the attempt
    and either finish the delivery or schedule the next try. Idempotent: a delivery that is
    not due (finished, or another worker has it) is left alone and None returned. One whose
    owner has WEBHOOK_SENDS_PER_OWNER sends going in this process is sent again shortly."""
    owner_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("webhook__owner_id", flat=True).first()
    if owner_id is None:
        return None  # deleted with its webhook or its prediction
    with _owner_send_slot(owner_id) as free:
        if not free:
            transport.deliver([str(delivery_id)], delay=OWNER_BUSY_RETRY_SECONDS)
            return None
        return _attempt(delivery_id)


def _attempt(delivery_id) -> WebhookAttempt | None:
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    if not delivery.payload:
        try:
            delivery.payload = json.dumps(_payload(delivery), separators=(",", ":"))
        except Prediction.DoesNotExist:
            return None  # deleted since: its deliveries went with it
        WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=delivery.payload)
    body = delivery.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DigitRec-Webhooks/1",
        "DigitRec-Event": EVENT,
        "DigitRec-Delivery": str(delivery.pk),
        webhook_http.SIGNATURE_HEADER: webhook_http.signature(delivery.webhook.secret, int(time.time()), body),
    }
    started, at = time.monotonic(), timezone.now()
    code, error = None, ""
    try:
        code = webhook_http.post(delivery.webhook.url, body, headers).status
        if not 200 <= code < 300:
            error = f"The receiver answered {code}" + (" (redirects are not followed)." if 300 <= code < 400 else ".")
    except webhook_http.Refused as exc:
        error = str(exc)
    except (HTTPError, OSError) as exc:
        error = f"No answer: {type(exc).__name__}: {exc}"
    attempt = WebhookAttempt(delivery=delivery, at=at, response_code=code, error=error[:300],
                             duration_ms=round((time.monotonic() - started) * 1000))
    try:
        attempt.save()
    except IntegrityError:
        return None  # the webhook or the prediction was deleted during the attempt
    _after(delivery, attempt)
    return attempt


def _after(delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
    now = timezone.now()
    delivery.attempts += 1
    if attempt.succeeded:
        delivery.status, delivery.finished_at = WebhookDelivery.Status.DELIVERED, now
    else:
        delay = backoff_seconds(delivery.attempts)
        next_at = now + timedelta(seconds=delay)
        if next_at > delivery.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
            delivery.status, delivery.finished_at = WebhookDelivery.Status.FAILED, now
            log.warning("webhook delivery %s given up after %d attempts: %s", delivery.pk, delivery.attempts,
                        attempt.error)
        else:
            delivery.next_attempt_at = next_at
    WebhookDelivery.objects.filter(pk=delivery.pk).update(  # no error if it was deleted meanwhile
        attempts=delivery.attempts, status=delivery.status, finished_at=delivery.finished_at,
        next_attempt_at=delivery.next_attempt_at)
    if delivery.status == WebhookDelivery.Status.PENDING:
        transport.deliver([str(delivery.pk)], delay=delay)


def deliveries_send_due(limit: int = 500) -> int:
    """Send the deliveries whose time has come and went unanswered (a retry too far off to be
    queued with a countdown, a send lost to a broker outage or a restart); returns how many
    were sent. Beat runs it, or the embedded mode's sweeper. A delivery due less than a
    sweep ago is most likely queued already, so it waits for the next sweep."""
    overdue = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS)
    ids = [str(pk) for pk in WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]]
    if ids:
        transport.deliver(ids)
    return len(ids)
