"""Template filters for the prediction pages: probabilities as percentages, timings in
seconds, and filter fields with Bootstrap's look."""
from __future__ import annotations

from datetime import datetime

from django import forms, template
from django.utils.formats import number_format
from django.utils.translation import gettext

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.9731 -> "97.3%" (in the language's number format); nothing for no value."""
    if value is None or value == "":
        return ""
    return f"{number_format(round(float(value) * 100, int(digits)), int(digits))}%"


@register.filter
def short_percent(value: float) -> str:
    """A probability bar's value printed under it, in whole percent (as result.js prints it):
    0.9731 -> "97", 0.004 -> "<1"."""
    p = float(value) * 100
    if p >= 99.5:
        return "100"
    if p >= 1:
        return str(round(p))
    return "<1" if p >= 0.05 else "0"


@register.filter
def seconds_until(start: datetime | None, end: datetime | None) -> str:
    """How long from ``start`` to ``end``, e.g. "0.12 s"; nothing if either is missing."""
    if not start or not end:
        return ""
    return gettext("%(seconds)s s") % {"seconds": number_format(round((end - start).total_seconds(), 2), 2)}


@register.filter
def small_control(field) -> str:
    """A form field rendered with Bootstrap's small select or input look (django-filter's
    widgets carry no classes)."""
    is_select = isinstance(field.field.widget, forms.Select)
    css = "form-select form-select-sm" if is_select else "form-control form-control-sm"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})
