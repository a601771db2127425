"""History and API list filters: by answer, status, source, mode, date and feedback."""
import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from recognition.models import Prediction

# Browsers send type="date" inputs as YYYY-MM-DD, the format the API documents too.
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class PredictionFilter(django_filters.FilterSet):
    digit = django_filters.CharFilter(field_name="answer", lookup_expr="exact", label=_("Answer"),
                                      help_text=_("The digit (or digit string) answered."))
    status = django_filters.ChoiceFilter(choices=Prediction.Status.choices, empty_label=_("Any"), label=_("Status"))
    source = django_filters.ChoiceFilter(choices=Prediction.Source.choices, empty_label=_("Any"), label=_("Source"))
    mode = django_filters.ChoiceFilter(choices=Prediction.Mode.choices, empty_label=_("Any"), label=_("Mode"))
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte",
                                              label=_("From"), help_text=_("YYYY-MM-DD, inclusive."),
                                              widget=DATE_INPUT)
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte",
                                               label=_("To"), help_text=_("YYYY-MM-DD, inclusive."),
                                               widget=DATE_INPUT)
    # A choice, not a BooleanFilter: that one reads any other value ("null", "maybe") as
    # "no filter", where a wrong value should be an error like any other.
    has_feedback = django_filters.ChoiceFilter(choices=[("true", _("Yes")), ("false", _("No"))], empty_label=_("Any"),
                                               method="filter_has_feedback", label=_("Has feedback"))

    class Meta:
        model = Prediction
        fields = ["digit", "status", "source", "mode", "created_after", "created_before", "has_feedback"]

    def filter_has_feedback(self, queryset, name, value):
        return queryset.exclude(feedback_label="") if value == "true" else queryset.filter(feedback_label="")
