"""Staff's view of the webhooks: whose, where to, and how their latest deliveries went.

Staff see every webhook (never its secret) with its latest deliveries, and may delete one,
say a receiver that never answers: its pending deliveries go with it. Nobody adds or
edits a webhook here; owners do, on their profile page or through the API.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from recognition import webhooks
from recognition.admin import StaffPermissions
from recognition.models import Webhook, WebhookDelivery

LATEST_DELIVERIES = 20


class LatestOnly(BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset()[:LATEST_DELIVERIES]  # newest first (the model's order)


class LatestDeliveries(StaffPermissions, admin.TabularInline):
    model = WebhookDelivery
    formset = LatestOnly
    verbose_name_plural = gettext_lazy("Latest deliveries")
    fields = readonly_fields = ["prediction", "status", "attempts", "last_answer", "next_attempt_at", "created_at"]
    staff_can_change = False
    can_delete = False
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("attempt_set")

    @admin.display(description=gettext_lazy("last answer"))
    def last_answer(self, delivery: WebhookDelivery) -> str:
        attempt = delivery.last_attempt
        if attempt is None:
            return "-"
        return f"{attempt.response_code or attempt.error} ({attempt.duration_ms} ms)"


@admin.register(Webhook)
class WebhookAdmin(StaffPermissions, admin.ModelAdmin):
    staff_can_change = False
    list_display = ["url", "owner", "pending", "failed", "created_at"]
    search_fields = ["owner__username", "url"]
    search_help_text = gettext_lazy("Search by the owner's username or the URL.")
    list_select_related = ["owner"]
    fields = readonly_fields = ["url", "owner_name", "created_at"]  # never the secret
    inlines = [LatestDeliveries]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)))

    @admin.display(description=gettext_lazy("owner"))
    def owner_name(self, webhook: Webhook) -> str:
        return webhook.owner.get_username()  # not a link: staff may not open user accounts

    @admin.display(description=WebhookDelivery.Status.PENDING.label, ordering="pending_count")
    def pending(self, webhook: Webhook) -> int:
        return webhook.pending_count

    @admin.display(description=WebhookDelivery.Status.FAILED.label, ordering="failed_count")
    def failed(self, webhook: Webhook) -> int:
        return webhook.failed_count

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        webhooks.webhook_delete(webhook=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for webhook in queryset:
            webhooks.webhook_delete(webhook=webhook)
