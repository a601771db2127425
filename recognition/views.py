"""Pages and files of predictions. Every view that takes an id goes through
``selectors.prediction_for_user``: someone else's prediction is a 404."""
from __future__ import annotations

import csv
import io
import mimetypes
from itertools import chain

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from PIL import Image

from recognition import selectors, services
from recognition.auth import session_or_token_required
from recognition.filters import PredictionFilter
from recognition.forms import FeedbackForm
from recognition.models import Prediction

HISTORY_PAGE_SIZE = 25
CSV_COLUMNS = ["id", "created_at", "source", "mode", "status", "answer", "confidence", "feedback_label",
               "model_version", "error"]


@login_required
@require_GET
def draw(request: HttpRequest) -> HttpResponse:
    return render(request, "recognition/draw.html")


@login_required
@require_GET
def upload(request: HttpRequest) -> HttpResponse:
    return render(request, "recognition/upload.html", {"max_upload_bytes": settings.MAX_UPLOAD_BYTES})


def _history_filter(request: HttpRequest) -> PredictionFilter:
    # Always bound (an empty query is valid), so is_valid() tells a bad value from no filter.
    return PredictionFilter(request.GET, queryset=selectors.predictions_for(request.user))


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The user's predictions, newest first, filtered and paginated; bad filters are form errors."""
    filterset = _history_filter(request)
    predictions = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(predictions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "recognition/history.html", {
        "filter": filterset, "page": page, "query": query.urlencode(),
    })


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def history_export(request: HttpRequest) -> HttpResponse:
    """All the user's predictions matching the history filters, as CSV, streamed row by row."""
    filterset = _history_filter(request)
    if not filterset.is_valid():
        # The history page shows what is wrong with the filters.
        return redirect(f"{reverse('recognition:history')}?{request.GET.urlencode()}")
    writer = csv.writer(_Echo())
    rows = filterset.qs.values_list(*CSV_COLUMNS).iterator(chunk_size=500)
    lines = chain([writer.writerow(CSV_COLUMNS)], (writer.writerow(_csv_row(row)) for row in rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="digitrec-history.csv"'
    return response


def _csv_row(row: tuple) -> list:
    values = dict(zip(CSV_COLUMNS, row))
    values["created_at"] = values["created_at"].isoformat()
    values["confidence"] = "" if values["confidence"] is None else values["confidence"]
    return [values[column] for column in CSV_COLUMNS]


def _render_detail(request: HttpRequest, prediction: Prediction, form: FeedbackForm) -> HttpResponse:
    return render(request, "recognition/detail.html", {"prediction": prediction, "form": form})


@login_required
@require_GET
def detail(request: HttpRequest, pk) -> HttpResponse:
    prediction = selectors.prediction_for_user(request.user, pk)
    return _render_detail(request, prediction, FeedbackForm(initial={"label": prediction.feedback_label}))


@login_required
@require_POST
def feedback(request: HttpRequest, pk) -> HttpResponse:
    prediction = selectors.prediction_for_user(request.user, pk)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            services.prediction_give_feedback(prediction=prediction, label=form.cleaned_data["label"])
        except ValidationError as exc:
            form.add_error("label", exc)
        else:
            messages.success(request, _("Thank you: recorded %(label)s as the right answer.") % {"label": prediction.feedback_label})
            return redirect("recognition:detail", pk=prediction.pk)
    return _render_detail(request, prediction, form)


@login_required
@require_POST
def delete(request: HttpRequest, pk) -> HttpResponse:
    prediction = selectors.prediction_for_user(request.user, pk)
    services.prediction_delete(prediction=prediction)
    messages.success(request, _("The prediction and its image were deleted."))
    return redirect("recognition:history")


def image_response(prediction: Prediction, *, max_age: int) -> HttpResponse:
    """The submitted image of ``prediction``, privately cacheable (the caller checks access)."""
    try:
        handle = prediction.image.open("rb")
    except OSError:
        raise Http404(_("The image file is missing."))
    content_type = mimetypes.guess_type(prediction.image.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"private, max-age={max_age}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def model_input_response(prediction: Prediction, index: int, *, max_age: int) -> HttpResponse:
    """The 28x28 image the model saw for digit ``index``, enlarged 4x, as PNG."""
    if index >= len(prediction.digits):
        raise Http404(_("No such digit."))
    image = Image.fromarray(prediction.model_input(index)).resize((112, 112), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


@session_or_token_required
@require_GET
def prediction_image(request, pk):
    """The image as it was submitted; media files are never served publicly."""
    return image_response(selectors.prediction_for_user(request.user, pk), max_age=86400)


@session_or_token_required
@require_GET
def prediction_model_input(request, pk, index: int):
    """The 28x28 image the model saw for one digit, enlarged 4x so people can see it."""
    return model_input_response(selectors.prediction_for_user(request.user, pk), index, max_age=86400)
