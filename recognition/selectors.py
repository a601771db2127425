"""Reads for predictions. Every lookup by id goes through ``prediction_for_user``."""
from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from recognition.models import Prediction


def predictions_for(user) -> QuerySet[Prediction]:
    """The user's own predictions, newest first; nobody sees anyone else's."""
    return Prediction.objects.filter(owner=user).order_by("-created_at")


def prediction_for_user(user, prediction_id) -> Prediction:
    """The user's prediction with this id, or 404 (also for someone else's: never 403,
    which would confirm that it exists)."""
    try:
        pk = uuid.UUID(str(prediction_id))
    except ValueError:
        raise Http404("No such prediction.")
    try:
        return predictions_for(user).get(pk=pk)
    except Prediction.DoesNotExist:
        raise Http404("No such prediction.")
