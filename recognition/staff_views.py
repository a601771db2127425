"""Pages and files for staff: the dashboard, and any user's prediction images for the admin.

Anyone else, signed in or not, gets a 404 here: not a redirect to a login page, which
would reveal that the page exists.
"""
from __future__ import annotations

from functools import wraps

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from recognition import dashboard, selectors
from recognition.models import Prediction
from recognition.views import image_response, model_input_response


def staff_only(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            raise Http404()
        return view(request, *args, **kwargs)
    return wrapped


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_only
@require_GET
def prediction_image(request: HttpRequest, pk) -> HttpResponse:
    """Any user's submitted image, for review."""
    return image_response(get_object_or_404(Prediction, pk=pk), max_age=3600)


@staff_only
@require_GET
def prediction_model_input(request: HttpRequest, pk, index: int) -> HttpResponse:
    """The 28x28 input the model saw for one digit of any user's prediction, enlarged 4x."""
    return model_input_response(get_object_or_404(Prediction, pk=pk), index, max_age=3600)



@staff_only
@require_GET
def model_plot(request: HttpRequest, version: str, plot: str) -> HttpResponse:
    """A model version's training curves, confusion matrix or reliability diagram (PNG from its artifact)."""
    return _private(FileResponse(selectors.model_version_plot(version, plot).open("rb"), content_type="image/png"))


@staff_only
@require_GET
def labelled_reliability(request: HttpRequest, version: str) -> HttpResponse:
    """The reliability diagram of a model version's answers that staff reviewed (PNG)."""
    png = dashboard.labelled_reliability_png(version)
    if png is None:
        raise Http404(_("No reviewed answers of this model yet."))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=60"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_only
@require_GET
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    per_day = dashboard.predictions_per_day()
    return render(request, "recognition/staff_dashboard.html", {
        "per_day": dashboard.bar_chart(per_day),
        "low_confidence": dashboard.low_confidence_share(),
        "accuracy": dashboard.measured_accuracy(),
        "confusion": dashboard.heat_map(dashboard.confusion_matrix()),
        "queue": dashboard.review_queue(),
        "slowest": dashboard.slowest(),
        "model": dashboard.serving_model(),
    })
