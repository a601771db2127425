"""Reads for the staff dashboard: volume, confidence, measured accuracy, what to review, what
is slow, and which model serves. Every figure covers all users; only staff see them.

"Measured" accuracy needs a right answer: staff's reviewed label, else the owner's
feedback. It is measured on predictions the model answered ("done").
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Length, NullIf, TruncDate
from django.utils import timezone

from ml.artifact import ArtifactError, load_metadata
from ml.calibration import expected_calibration_error, plot_reliability
from recognition import selectors
from recognition.models import ModelVersion, Prediction, answer_as_label

LOW_CONFIDENCE = 0.8  # below this an answer is "unsure": the share is a health figure
MODEL_PLOTS = ("reliability", "confusion_matrix", "training_curves")  # PNGs an artifact may hold
LABELLED_MAX = 20000  # reviewed answers drawn in the labelled reliability diagram, newest first


def predictions_per_day(*, days: int = 30, today: date | None = None) -> list[tuple[date, int]]:
    """(day, predictions created) for the last ``days`` days up to today, zeros included."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = dict(
        Prediction.objects.filter(created_at__date__gte=first, created_at__date__lte=today)
        .annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("pk")).values_list("day", "n")
    )
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)]


def low_confidence_share(*, threshold: float = LOW_CONFIDENCE) -> dict:
    """How many answered predictions were answered with confidence below ``threshold``."""
    figures = Prediction.objects.filter(status=Prediction.Status.DONE).aggregate(
        answered=Count("pk"), low=Count("pk", filter=Q(confidence__lt=threshold)))
    answered, low = figures["answered"], figures["low"]
    return {"answered": answered, "low": low, "share": low / answered if answered else None,
            "threshold": threshold}


def with_truth(queryset: QuerySet[Prediction] | None = None) -> QuerySet[Prediction]:
    """Predictions annotated with ``truth``: the reviewed label, else the feedback; those
    without either are left out."""
    queryset = Prediction.objects.all() if queryset is None else queryset
    return queryset.annotate(
        truth=Coalesce(NullIf("reviewed_label", Value("")), NullIf("feedback_label", Value("")))
    ).filter(truth__isnull=False)


def measured_accuracy() -> dict:
    """Accuracy on labelled, answered predictions (whole string for numbers); and how many
    labelled images the model gave no answer for."""
    labelled = with_truth()
    figures = labelled.filter(status=Prediction.Status.DONE).aggregate(
        count=Count("pk"), correct=Count("pk", filter=Q(truth=answer_as_label())))
    count, correct = figures["count"], figures["correct"]
    return {"count": count, "correct": correct, "accuracy": correct / count if count else None,
            "unanswered": labelled.filter(status=Prediction.Status.FAILED).count()}


def confusion_matrix() -> list[list[int]]:
    """10x10 counts over labelled single-digit predictions; rows: the right digit, columns: the answer."""
    matrix = [[0] * 10 for _ in range(10)]
    pairs = (with_truth(Prediction.objects.filter(status=Prediction.Status.DONE, mode=Prediction.Mode.DIGIT))
             .annotate(truth_length=Length("truth"), answer_length=Length("answer"))
             .filter(truth_length=1, answer_length=1)
             .values("truth", "answer").annotate(n=Count("pk")).values_list("truth", "answer", "n"))
    for truth, answer, n in pairs:
        matrix[int(truth)][int(answer)] += n
    return matrix


REVIEW_ORDER = ("-not_sure", "confidence", "-created_at")  # not-sure answers first, then the least confident


def review_queue(*, limit: int = 10) -> dict[str, list[Prediction]]:
    """Not yet reviewed: the answers the model said it was not sure of, then the least
    confident; and the disputed ones (the owner's feedback says something else than the
    answer), most recent dispute first."""
    unreviewed = (Prediction.objects.filter(status=Prediction.Status.DONE, reviewed_label="")
                  .select_related("owner"))
    return {
        "least_confident": list(unreviewed.filter(confidence__isnull=False).order_by(*REVIEW_ORDER)[:limit]),
        "disputed": list(unreviewed.exclude(feedback_label="").exclude(feedback_label=answer_as_label())
                         .order_by("-feedback_at")[:limit]),
    }


def slowest(*, limit: int = 10) -> dict[str, list[Prediction]]:
    """Finished predictions that took longest: running (started to finished), and overall,
    as the person waited (created to finished, queueing included)."""
    finished = (Prediction.objects.filter(started_at__isnull=False, finished_at__isnull=False)
                .select_related("owner")
                .annotate(run=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()),
                          total=ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())))
    return {"run": list(finished.order_by("-run")[:limit]), "total": list(finished.order_by("-total")[:limit])}


def serving_model() -> dict:
    """The model that serves now: its version row (if registered) and its metadata."""
    try:
        folder = selectors.serving_model_dir()
        metadata = load_metadata(folder, verify=False)
    except ArtifactError as exc:
        return {"error": str(exc), "folder": None}
    version = ModelVersion.objects.filter(version=metadata["version"]).select_related("activated_by").first()
    per_class = metadata.get("per_class_accuracy") or {}
    return {
        "folder": folder,
        "metadata": metadata,
        "version": version,
        "is_active": bool(version and version.is_active),
        "per_class_accuracy": [(str(d), per_class.get(str(d))) for d in range(10)],
        "plots": [name for name in MODEL_PLOTS if (folder / f"{name}.png").is_file()],
        "labelled": labelled_calibration(metadata["version"]),
    }


def labelled_answers(model_version: str, *, limit: int = LABELLED_MAX) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, whether the answer matched staff's reviewed label) of the most recent
    reviewed answers of one model version: its calibration, seen on real use."""
    rows = list(Prediction.objects.filter(status=Prediction.Status.DONE, model_version=model_version,
                                          confidence__isnull=False).exclude(reviewed_label="")
                .order_by("-reviewed_at").values_list("confidence", "answer", "reviewed_label")[:limit])
    return (np.array([c for c, _, _ in rows], float),
            np.array([answer == label for _, answer, label in rows], bool))


def labelled_calibration(model_version: str) -> dict:
    """How many reviewed answers the serving model has, and its expected calibration error
    on them (15 bins, as ml.calibration measures the model on its own sets)."""
    confidences, right = labelled_answers(model_version)
    return {"count": len(confidences), "ece": expected_calibration_error(confidences, right) if len(right) else None,
            "accuracy": float(right.mean()) if len(right) else None}


def labelled_reliability_png(model_version: str) -> bytes | None:
    """The reliability diagram of the reviewed answers of ``model_version`` as PNG; None
    when there are none yet."""
    confidences, right = labelled_answers(model_version)
    if not len(confidences):
        return None
    out = io.BytesIO()
    plot_reliability(confidences, right, out,
                     f"{model_version}: {len(right)} answers reviewed by staff (ECE "
                     f"{expected_calibration_error(confidences, right):.1%})")
    return out.getvalue()


def bar_chart(points: list[tuple[date, int]], *, width: int = 720, height: int = 160,
              label_every: int = 5) -> dict:
    """Geometry of an SVG bar chart (y grows down) of (day, count) points."""
    top = max((n for _, n in points), default=0) or 1
    slot = width / max(len(points), 1)
    bars = []
    for i, (day, n) in enumerate(points):
        h = n / top * height
        bars.append({"x": round(i * slot + 1, 1), "y": round(height - h, 1), "w": round(slot - 2, 1),
                     "h": round(h, 1), "day": day, "n": n,
                     "label": (len(points) - 1 - i) % label_every == 0, "cx": round(i * slot + slot / 2, 1)})
    return {"bars": bars, "width": width, "height": height, "top": top, "total": sum(n for _, n in points)}


def heat_map(matrix: list[list[int]]) -> list[list[dict]]:
    """Cells of a confusion matrix with a 0..1 colour strength, relative to each row's total
    (how the right digit was read), so a rare digit's errors are as visible as a common one's."""
    rows = []
    for truth, counts in enumerate(matrix):
        total = sum(counts)
        rows.append([{"n": n, "truth": truth, "answer": answer, "correct": truth == answer,
                      "strength": round(n / total, 3) if total else 0}
                     for answer, n in enumerate(counts)])
    return rows
