"""Forms of the recognition pages. What a label may be is decided by the service
(``prediction_give_feedback``); the form only carries it and shows the service's errors."""
from django import forms
from django.utils.translation import gettext_lazy as _


class FeedbackForm(forms.Form):
    label = forms.CharField(
        label=_("The right answer"),
        max_length=64,
        help_text=_("Digits only, as they are written (one digit for a single-digit prediction)."),
        widget=forms.TextInput(attrs={
            "class": "form-control", "inputmode": "numeric", "autocomplete": "off",
            "data-testid": "feedback-label",
        }),
    )
