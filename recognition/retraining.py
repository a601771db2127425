"""Retraining on reviewed predictions: the labelled images, their fixed held-out slice, and
the rule that decides whether a model trained on them may serve.

Only staff's reviewed labels count (the owner's feedback reaches training once staff
accept it). The images are the 28x28 inputs the model saw, so they need no preprocessing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from django.core.exceptions import ValidationError

from recognition.models import Prediction
from recognition.validators import validate_label

HELDOUT_SHARE = 0.2


def is_heldout(prediction_id, share: float = HELDOUT_SHARE) -> bool:
    """Whether a prediction belongs to the held-out slice, never trained on.

    Decided by a hash of its id: the same prediction is held out in every run, so a
    model is never measured on images an earlier model trained on, and the slice only
    grows as reviews come in. All digits of one image fall on the same side.
    """
    digest = hashlib.sha256(f"heldout:{prediction_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


@dataclass
class ReviewedImages:
    """Labelled 28x28 images from reviewed predictions, split by ``is_heldout``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_heldout: np.ndarray
    y_heldout: np.ndarray
    train_ids: set = field(default_factory=set)
    heldout_ids: set = field(default_factory=set)
    skipped: int = 0  # number predictions whose label does not match their segmented digits
    invalid: int = 0  # labels that are not ASCII digits (stored before they were refused)


def reviewed_images() -> ReviewedImages:
    """The inputs of every "done" prediction with a reviewed label.

    A single digit gives its input with the label. A number gives one image per digit only
    when the label has as many digits as the image was cut into; otherwise which digit is
    which is unknown, and it is skipped.
    """
    split: dict[bool, tuple[list, list, set]] = {False: ([], [], set()), True: ([], [], set())}
    skipped = invalid = 0
    rows = (Prediction.objects.filter(status=Prediction.Status.DONE).exclude(reviewed_label="")
            .only("id", "mode", "digits", "reviewed_label").order_by("created_at", "id"))
    for prediction in rows.iterator(chunk_size=500):
        label = prediction.reviewed_label
        try:
            validate_label(label)
        except ValidationError:
            invalid += 1
            continue
        if len(label) != len(prediction.digits):
            skipped += 1
            continue
        images, labels, ids = split[is_heldout(prediction.pk)]
        for index, digit in enumerate(label):
            images.append(prediction.model_input(index))
            labels.append(int(digit))
        ids.add(prediction.pk)

    def arrays(images: list, labels: list) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
        return x, np.asarray(labels, dtype=np.uint8)

    (x_train, y_train), (x_heldout, y_heldout) = arrays(*split[False][:2]), arrays(*split[True][:2])
    return ReviewedImages(x_train, y_train, x_heldout, y_heldout,
                          train_ids=split[False][2], heldout_ids=split[True][2], skipped=skipped,
                          invalid=invalid)


def activation_decision(*, new_test: float, new_heldout: float | None, active_test: float | None,
                        active_heldout: float | None) -> tuple[bool, str]:
    """Whether a model trained with feedback should replace the active one, and why.

    It must be at least as good on MNIST test (not forgetting the basics) and strictly
    better on the held-out reviewed images (the reason to retrain at all).
    """
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f}%"

    if new_heldout is None or active_heldout is None:
        return False, "not activated: there are no held-out reviewed images to compare the models on"
    if active_test is not None and new_test < active_test:
        return False, (f"not activated: MNIST test accuracy {pct(new_test)} is below the active model's "
                       f"{pct(active_test)}")
    if new_heldout <= active_heldout:
        return False, (f"not activated: held-out accuracy {pct(new_heldout)} is not above the active "
                       f"model's {pct(active_heldout)}")
    return True, (f"activated: MNIST test {pct(new_test)} >= {pct(active_test)} and held-out "
                  f"{pct(new_heldout)} > {pct(active_heldout)}")
