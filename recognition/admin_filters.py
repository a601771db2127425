"""The admin's filters of predictions: each a {value: (label, Q)} table."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _


class _Choice(admin.SimpleListFilter):
    """A filter defined by a {value: (label, Q)} table."""

    options: dict[str, tuple[str, Q]] = {}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _q) in self.options.items()]

    def queryset(self, request, queryset):
        if self.value() in self.options:
            return queryset.filter(self.options[self.value()][1])
        return queryset


class AnswerFilter(_Choice):
    title = _("answer")
    parameter_name = "answer"
    options = {**{str(d): (str(d), Q(answer=str(d))) for d in range(10)},
               "number": (_("Two digits or more"), Q(answer_length__gte=2))}

    def queryset(self, request, queryset):
        return super().queryset(request, queryset.annotate(answer_length=Length("answer")))


class HasFeedbackFilter(_Choice):
    title = _("owner's feedback")
    parameter_name = "has_feedback"
    options = {"yes": (_("Given"), ~Q(feedback_label="")), "no": (_("None"), Q(feedback_label=""))}


class FeedbackDisagreesFilter(_Choice):
    title = _("feedback vs answer")
    parameter_name = "feedback_disagrees"
    options = {
        "yes": (_("Disagrees"), ~Q(feedback_label="") & ~Q(feedback_label=F("answer"))),
        "no": (_("Agrees"), ~Q(feedback_label="") & Q(feedback_label=F("answer"))),
    }


class ReviewedFilter(_Choice):
    title = _("reviewed")
    parameter_name = "reviewed"
    options = {"yes": (_("Reviewed"), ~Q(reviewed_label="")), "no": (_("Not reviewed"), Q(reviewed_label=""))}


class ConfidenceFilter(_Choice):
    title = _("confidence")
    parameter_name = "confidence_band"
    options = {
        "low": (_("Below 50%"), Q(confidence__lt=0.5)),
        "medium": (_("50% to 90%"), Q(confidence__gte=0.5, confidence__lt=0.9)),
        "high": (_("90% and above"), Q(confidence__gte=0.9)),
    }


class NotSureFilter(_Choice):
    title = _("not sure")
    parameter_name = "not_sure"
    options = {"yes": (_("Not sure"), Q(not_sure=True)), "no": (_("Sure"), Q(not_sure=False))}

