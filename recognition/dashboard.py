"""Reads for the staff dashboard: volume, confidence, measured accuracy, what to review, what
is slow, and which model serves. Every figure covers all users; only staff see them.

"Measured" accuracy needs a right answer: staff's reviewed label, else the owner's
feedback. It is measured on predictions the model answered ("done").
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Length, NullIf, TruncDate
from django.utils import timezone

from ml.artifact import ArtifactError, load_metadata
from recognition import selectors
from recognition.models import ModelVersion, Prediction

LOW_CONFIDENCE = 0.8  # below this an answer is "unsure": the share is a health figure


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
        count=Count("pk"), correct=Count("pk", filter=Q(truth=F("answer"))))
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


def review_queue(*, limit: int = 10) -> dict[str, list[Prediction]]:
    """Not yet reviewed: the least confident answers, and the disputed ones (the owner's
    feedback says something else than the answer), most recent dispute first."""
    unreviewed = (Prediction.objects.filter(status=Prediction.Status.DONE, reviewed_label="")
                  .select_related("owner"))
    return {
        "least_confident": list(unreviewed.filter(confidence__isnull=False).order_by("confidence", "-created_at")[:limit]),
        "disputed": list(unreviewed.exclude(feedback_label="").exclude(feedback_label=F("answer"))
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
        "plots": [name for name in ("confusion_matrix", "training_curves") if (folder / f"{name}.png").is_file()],
    }


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
