"""Staff review of predictions, and the model versions staff can activate (the webhooks'
admin is in recognition/webhooks_admin.py).

Being staff (``is_staff``) is the permission here: staff view every prediction, review
it and activate models without per-model permissions. Nobody adds predictions in the
admin (they come from ``prediction_create``) or deletes them (owners delete their own),
and writes go through ``recognition.services``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from ml.artifact import ArtifactError
from recognition import dashboard, model_versions, selectors, services
from recognition.admin_filters import (AnswerFilter, ConfidenceFilter, FeedbackDisagreesFilter, HasFeedbackFilter,
                                       NotSureFilter, ReviewedFilter)
from recognition.models import ModelVersion, Prediction
from recognition.templatetags.predictions import percent, seconds_until
from recognition.validators import validate_label


class StaffPermissions:
    """Staff may view and change; nobody adds or deletes here."""

    staff_can_change = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.staff_can_change and self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:  # (inlines pass obj)
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- Predictions ----------------------------------------------------------------------------

class ReviewForm(forms.ModelForm):
    class Meta:
        model = Prediction
        fields = ["reviewed_label"]

    def clean_reviewed_label(self) -> str:
        return services.prediction_label_clean(prediction=self.instance,
                                               label=self.cleaned_data["reviewed_label"])


class ReviewLabelForm(forms.Form):
    label = forms.CharField(max_length=64, label=gettext_lazy("Reviewed label"),
                            help_text=gettext_lazy("The right answer for every selected prediction: one digit for "
                                                   "single digits, the digits left to right for numbers."))

    def clean_label(self) -> str:
        label = self.cleaned_data["label"].strip()
        validate_label(label)
        return label


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = {
    "id": "id", "owner": "owner__username", "created_at": "created_at", "source": "source", "mode": "mode",
    "status": "status", "line": None, "answer": "answer", "confidence": "confidence", "not_sure": "not_sure",
    "feedback_label": "feedback_label", "reviewed_label": "reviewed_label", "reviewed_by": "reviewed_by__username", "reviewed_at": "reviewed_at",
    "model_version": "model_version", "error_code": "error_code", "queued_at": "queued_at",
    "started_at": "started_at", "finished_at": "finished_at",
}


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    # A spreadsheet would run a cell starting with these as a formula (a user names themselves).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _csv_rows(values: dict) -> list[dict]:
    """A prediction's rows: one, or for a page one per line (numbered from 1, the top line),
    with that line's number and confidence."""
    lines = values.pop("lines") or []
    return [{**values, "line": index, "answer": line["number"], "confidence": line["confidence"]}
            for index, line in enumerate(lines, start=1)] or [values]


def _probability_bars(digit: dict, *, height: int = 100, slot: int = 26) -> list[dict]:
    """SVG geometry of ten bars, one per class, on a baseline at ``height``."""
    return [{"digit": d, "p": p, "x": d * slot + 3, "h": round(p * height, 1), "y": round(height - p * height, 1),
             "top": d == digit.get("digit")}
            for d, p in enumerate(digit.get("probabilities") or [])]


@admin.register(Prediction)
class PredictionAdmin(StaffPermissions, admin.ModelAdmin):
    form = ReviewForm
    list_display = ["thumbnail", "owner_predictions", "source", "mode", "status", "answer", "confidence_percent",
                    "feedback", "reviewed_label", "model_version", "created_at"]
    list_display_links = ["thumbnail", "answer"]
    list_filter = ["status", "source", "mode", NotSureFilter, AnswerFilter, HasFeedbackFilter, FeedbackDisagreesFilter,
                   ReviewedFilter, ConfidenceFilter, "model_version", "created_at"]
    # The review queue's order: the answers the model was not sure of first.
    ordering = ["-not_sure", "-created_at"]
    search_fields = ["owner__username"]
    search_help_text = gettext_lazy("Search by the owner's username.")
    list_select_related = ["owner"]
    list_per_page = 50
    actions = ["set_reviewed_label", "mark_reviewed", "export_csv"]

    class Media:
        # Narrower columns, so all of them fit beside the filters at 1280 px.
        css = {"all": ["recognition/admin_predictions.css"]}
    fieldsets = [
        (gettext_lazy("What was submitted"), {"fields": ["full_image", "owner_predictions", "source", "mode", "image_name",
                                           "image_bytes", "image_sha256", "created_at"]}),
        (gettext_lazy("What the model said"), {"fields": [
            "status", "answer", "confidence", "not_sure", "page_lines", "model_inputs", "left_out", "number_hint",
            "model_version", "error_code", "error", "attempts"]}),
        (gettext_lazy("Review"), {"fields": ["feedback_label", "feedback_at", "reviewed_label", "reviewed_at", "reviewer"]}),
        (gettext_lazy("Timings"), {"fields": ["queued_at", "started_at", "finished_at", "timings"]}),
    ]
    readonly_fields = ["full_image", "owner_predictions", "source", "mode", "image_name", "image_bytes",
                       "image_sha256", "created_at", "status", "answer", "confidence", "not_sure", "page_lines",
                       "model_inputs",
                       "left_out", "number_hint",
                       "model_version", "error_code", "error", "attempts", "feedback_label", "feedback_at",
                       "reviewed_at", "reviewer", "queued_at", "started_at", "finished_at", "timings"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Prediction.Status.DONE:
            return [*self.readonly_fields, "reviewed_label"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if "reviewed_label" in form.changed_data:
            services.prediction_review(prediction=obj, label=form.cleaned_data["reviewed_label"],
                                       reviewer=request.user)

    # Columns and read-only fields.

    @admin.display(description=gettext_lazy("image"))
    def thumbnail(self, obj: Prediction):
        return format_html('<img src="{}" alt="" width="48" height="48" loading="lazy" '
                           'style="object-fit: contain; background: #fff; border: 1px solid #ccc">',
                           reverse("recognition:staff-image", args=[obj.pk]))

    # Users are shown by name, never linked to their account page: staff who are not
    # superusers may not open it. The owner links to their predictions instead.
    @admin.display(description=gettext_lazy("owner"), ordering="owner__username")
    def owner_predictions(self, obj: Prediction):
        url = reverse("admin:recognition_prediction_changelist") + f"?owner__id__exact={obj.owner_id}"
        return format_html('<a href="{}" title="{}">{}</a>', url, _("All predictions by %(owner)s") % {"owner": obj.owner},
                           obj.owner)

    @admin.display(description=gettext_lazy("reviewed by"))
    def reviewer(self, obj: Prediction) -> str:
        return str(obj.reviewed_by) if obj.reviewed_by else "-"

    @admin.display(description=gettext_lazy("confidence"), ordering="confidence")
    def confidence_percent(self, obj: Prediction) -> str:
        return percent(obj.confidence)

    @admin.display(description=gettext_lazy("feedback"), ordering="feedback_label")
    def feedback(self, obj: Prediction):
        if not obj.feedback_label:
            return ""
        if obj.feedback_label != obj.answer_digits:
            return format_html('<strong title="{}">{} &ne; {}</strong>', _("differs from the answer"),
                               obj.feedback_label, obj.answer or "—")
        return obj.feedback_label

    @admin.display(description=gettext_lazy("image"))
    def full_image(self, obj: Prediction):
        return format_html('<a href="{0}"><img src="{0}" alt="{1}" '
                           'style="max-width: 100%; max-height: 360px; background: #fff; border: 1px solid #ccc">'
                           '</a>', reverse("recognition:staff-image", args=[obj.pk]), _("The submitted image"))

    @admin.display(description=gettext_lazy("lines"))
    def page_lines(self, obj: Prediction):
        if not obj.lines:
            return "—"
        return format_html_join(
            "", '<div data-testid="admin-line">{}. <strong>{}</strong> ({}, {} box {})</div>',
            ((index, line["number"], percent(line["confidence"]),
              ngettext("%(count)d digit,", "%(count)d digits,", line["count"]) % {"count": line["count"]}, line["box"])
             for index, line in enumerate(obj.lines, start=1)))

    @admin.display(description=gettext_lazy("what the model saw"))
    def model_inputs(self, obj: Prediction):
        digits = [{**d, "index": i, "input_url": reverse("recognition:staff-model-input", args=[obj.pk, i]),
                   "bars": _probability_bars(d)}
                  for i, d in enumerate(obj.digits)]
        return render_to_string("admin/recognition/prediction/_digits.html", {"digits": digits})

    @admin.display(description=gettext_lazy("durations"))
    def timings(self, obj: Prediction) -> str:
        parts = [(_("waited %(seconds)s"), seconds_until(obj.queued_at, obj.started_at)),
                 (_("ran %(seconds)s"), seconds_until(obj.started_at, obj.finished_at)),
                 (_("in all %(seconds)s"), seconds_until(obj.created_at, obj.finished_at))]
        return ", ".join(text % {"seconds": value} for text, value in parts if value) or "—"

    # Bulk actions.

    @admin.action(description=gettext_lazy("Set a reviewed label on the selected predictions…"))
    def set_reviewed_label(self, request, queryset):
        form = ReviewLabelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for prediction in queryset:
                try:
                    services.prediction_review(prediction=prediction, label=form.cleaned_data["label"],
                                               reviewer=request.user)
                    done += 1
                except ValidationError as exc:
                    refused.append(f"{prediction.pk}: {exc.messages[0]}")
            self.message_user(request, ngettext("Reviewed label %(label)s set on %(count)d prediction.",
                                                "Reviewed label %(label)s set on %(count)d predictions.", done)
                              % {"label": form.cleaned_data["label"], "count": done}, messages.SUCCESS)
            if refused:
                self.message_user(request, _("Left %(count)d unchanged: %(reasons)s") % {
                    "count": len(refused), "reasons": "; ".join(refused[:5]) + ("…" if len(refused) > 5 else "")},
                    messages.WARNING)
            return None
        return TemplateResponse(request, "admin/recognition/prediction/set_reviewed_label.html", {
            **self.admin_site.each_context(request),
            "title": _("Set a reviewed label"),
            "opts": self.model._meta,
            "form": form,
            "predictions": queryset.select_related("owner"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    @admin.action(description=gettext_lazy("Mark reviewed (the owner's feedback, else the answer)"))
    def mark_reviewed(self, request, queryset):
        count = services.predictions_mark_reviewed(queryset=queryset, reviewer=request.user)
        skipped = queryset.count() - count
        message = ngettext("Marked %(count)d prediction reviewed", "Marked %(count)d predictions reviewed", count)
        if skipped:
            message += "; " + ngettext("%(skipped)d left as it was (not answered, or already reviewed).",
                                       "%(skipped)d left as they were (not answered, or already reviewed).", skipped)
        self.message_user(request, message % {"count": count, "skipped": skipped} + ("" if skipped else "."),
                          messages.SUCCESS)

    @admin.action(description=gettext_lazy("Export the selected predictions as CSV"))
    def export_csv(self, request, queryset):
        writer = csv.writer(_Echo())
        fields = [field for field in CSV_COLUMNS.values() if field] + ["lines"]
        rows = queryset.order_by("-created_at").values_list(*fields).iterator(chunk_size=500)

        def lines():
            yield writer.writerow(CSV_COLUMNS.keys())
            for row in rows:
                for values in _csv_rows(dict(zip(fields, row))):
                    yield writer.writerow([_csv_cell(values.get(field or "line")) for field in CSV_COLUMNS.values()])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="digitrec-predictions.csv"'
        return response


# --- Model versions -------------------------------------------------------------------------

@admin.register(ModelVersion)
class ModelVersionAdmin(StaffPermissions, admin.ModelAdmin):
    staff_can_change = False  # every field comes from the artifact; the one write is "activate"
    change_list_template = "admin/recognition/modelversion/change_list.html"
    list_display = ["version", "is_active", "serving", "test_accuracy_percent", "heldout_accuracy_percent",
                    "heldout_images", "trained_at", "activated_at"]
    actions = ["activate"]
    fieldsets = [
        (None, {"fields": ["version", "path", "is_active", "activated_at", "activated_by", "trained_at",
                           "registered_at"]}),
        (gettext_lazy("Accuracy"), {"fields": ["test_accuracy_percent", "heldout_accuracy_percent", "heldout_images",
                                 "evaluation"]}),
        (gettext_lazy("Training"), {"fields": ["training"]}),
        (gettext_lazy("Metadata"), {"fields": ["metadata_json"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["version", "path", "is_active", "activated_at", "activated_by", "trained_at",
                       "registered_at", "test_accuracy_percent", "heldout_accuracy_percent", "heldout_images",
                       "evaluation", "training", "metadata_json"]

    def get_urls(self):
        return [path("sync/", self.admin_site.admin_view(require_POST(self.sync_view)),
                     name="recognition_modelversion_sync"), *super().get_urls()]

    def sync_view(self, request):
        created = model_versions.model_versions_sync()
        message = ngettext("Registered %(count)d new version", "Registered %(count)d new versions", len(created))
        self.message_user(request, message % {"count": len(created)}
                          + (": " + ", ".join(v.version for v in created) if created else "."), messages.SUCCESS)
        return redirect("admin:recognition_modelversion_changelist")

    def get_queryset(self, request):
        # The serving folder is found once per page (the active version's, or ML_MODEL_DIR).
        try:
            serving = selectors.serving_model_dir().resolve()
        except (ArtifactError, DatabaseError):
            serving = None
        is_serving = (Q(path=serving.name) if serving and serving.parent == Path(settings.ML_ARTIFACTS_DIR).resolve()
                      else Q(pk__in=[]))
        return super().get_queryset(request).annotate(
            is_serving=ExpressionWrapper(is_serving, output_field=BooleanField()))

    @admin.display(description=gettext_lazy("serving"), boolean=True)
    def serving(self, obj: ModelVersion) -> bool:
        return obj.is_serving

    @admin.display(description=gettext_lazy("MNIST test accuracy"), ordering="test_accuracy")
    def test_accuracy_percent(self, obj: ModelVersion) -> str:
        return percent(obj.test_accuracy, 2) or "—"

    @admin.display(description=gettext_lazy("held-out accuracy"), ordering="heldout_accuracy")
    def heldout_accuracy_percent(self, obj: ModelVersion) -> str:
        return percent(obj.heldout_accuracy, 2) or "—"

    @admin.display(description=gettext_lazy("per class and plots"))
    def evaluation(self, obj: ModelVersion):
        return render_to_string("admin/recognition/modelversion/_evaluation.html", {
            "version": obj,
            "plots": [(name, reverse("recognition:staff-model-plot", args=[obj.version, name]))
                      for name in dashboard.MODEL_PLOTS if name != "reliability" or "calibration" in obj.metadata],
        })

    @admin.display(description=gettext_lazy("how it was trained"))
    def training(self, obj: ModelVersion):
        meta = obj.metadata
        data = meta.get("data", {})
        return format_html(
            _("{} training images ({} from reviewed predictions), {} s. Hyperparameters: {}.<br>"
              "Command: <code>{}</code>"),
            data.get("train_images", "?"), data.get("extra_train_images", 0), meta.get("training_seconds", "?"),
            ", ".join(f"{k}={v}" for k, v in (meta.get("hyperparameters") or {}).items()), meta.get("command", ""),
        )

    @admin.display(description="metadata.json")
    def metadata_json(self, obj: ModelVersion):
        return format_html("<pre style='max-height: 30rem; overflow: auto'>{}</pre>",
                           json.dumps(obj.metadata, indent=2))

    @admin.action(description=gettext_lazy("Activate the selected version (serve it from now on)"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to activate."), messages.ERROR)
            return None
        try:
            version = model_versions.model_version_activate(version=queryset.get(), by=request.user)
        except ValidationError as exc:
            self.message_user(request, exc.messages[0], messages.ERROR)
            return None
        self.message_user(request, _("Activated %(version)s: the next predictions use it.") % {"version": version.version},
                          messages.SUCCESS)


# The webhooks' admin lives in its own module, registered with this one.
from recognition import webhooks_admin  # noqa: E402, F401
