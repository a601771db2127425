"""The admin's filters of predictions: each a {value: (label, Q)} table."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.db.models.functions import Length

from recognition.models import answer_as_label


class _Choice(admin.SimpleListFilter):
    """A filter defined by a {value: (label, Q)} table."""

    options: dict[str, tuple[str, Q]] = {}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.options.items()]

    def queryset(self, request, queryset):
        if self.value() in self.options:
            return queryset.filter(self.options[self.value()][1])
        return queryset


class AnswerFilter(_Choice):
    title = "answer"
    parameter_name = "answer"
    options = {**{str(d): (str(d), Q(answer=str(d))) for d in range(10)},
               "number": ("Two digits or more", Q(answer_length__gte=2))}

    def queryset(self, request, queryset):
        return super().queryset(request, queryset.annotate(answer_length=Length("answer")))


class HasFeedbackFilter(_Choice):
    title = "owner's feedback"
    parameter_name = "has_feedback"
    options = {"yes": ("Given", ~Q(feedback_label="")), "no": ("None", Q(feedback_label=""))}


class FeedbackDisagreesFilter(_Choice):
    title = "feedback vs answer"
    parameter_name = "feedback_disagrees"
    options = {
        "yes": ("Disagrees", ~Q(feedback_label="") & ~Q(feedback_label=answer_as_label())),
        "no": ("Agrees", ~Q(feedback_label="") & Q(feedback_label=answer_as_label())),
    }


class ReviewedFilter(_Choice):
    title = "reviewed"
    parameter_name = "reviewed"
    options = {"yes": ("Reviewed", ~Q(reviewed_label="")), "no": ("Not reviewed", Q(reviewed_label=""))}


class ConfidenceFilter(_Choice):
    title = "confidence"
    parameter_name = "confidence_band"
    options = {
        "low": ("Below 50%", Q(confidence__lt=0.5)),
        "medium": ("50% to 90%", Q(confidence__gte=0.5, confidence__lt=0.9)),
        "high": ("90% and above", Q(confidence__gte=0.9)),
    }


class NotSureFilter(_Choice):
    title = "not sure"
    parameter_name = "not_sure"
    options = {"yes": ("Not sure", Q(not_sure=True)), "no": ("Sure", Q(not_sure=False))}

