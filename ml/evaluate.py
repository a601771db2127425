"""Evaluation through the serving path: MNIST test and the realistic sets (ml/evalsets.py).

A set is scored once (preprocessing and the model's raw scores per image); answers are
then made from the scores by inference.answer under a calibration, so fitting the
calibration on a tuning part and measuring it on a measuring part use the same code.

What counts as right: a digit image answered with its digit (a line: its whole string);
a non-digit image answered "no digit" (NoDigitFound or NotADigit). The confidence of a
"no digit" from preprocessing (a blank sheet, decided before the model) is 1.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.calibration import Calibration, auroc, expected_calibration_error
from ml.decoding import ImageDecodeError
from ml.inference import Engine, NotADigit, answer
from ml.preprocessing import Digit
from ml.report import classification_report
from ml.synthetic import NOT_A_DIGIT


@dataclass(frozen=True)
class Scored:
    """One labelled image as the engine saw it."""

    label: str  # digits, or NOT_A_DIGIT
    kind: str
    digits: list[Digit] | None  # None: preprocessing found no digit
    probabilities: np.ndarray | None  # the model's raw scores, one row per digit


@dataclass(frozen=True)
class Outcome:
    label: str
    kind: str
    answer: str  # the digits read, or NOT_A_DIGIT
    confidence: float

    @property
    def right(self) -> bool:
        return self.answer == self.label

    @property
    def rejected(self) -> bool:
        return self.answer == NOT_A_DIGIT


def read_labels(folder: str | Path) -> list[tuple[Path, str, str]]:
    """``labels.csv`` (file,label[,kind]) of a folder: a label is digits or NOT_A_DIGIT (a
    page's: each line's digits, separated by single spaces)."""
    folder = Path(folder)
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a folder to evaluate needs labels.csv (file,label)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"file", "label"} <= set(rows[0]):
        raise ValueError(f"{path} must have the columns file,label")
    triples = []
    for row in rows:
        label = row["label"].strip()
        if not (all(part.isdigit() for part in label.split(" ")) or label == NOT_A_DIGIT):
            raise ValueError(f"{path}: label {label!r} of {row['file']} is neither digits nor {NOT_A_DIGIT!r}")
        triples.append((folder / row["file"], label, (row.get("kind") or "").strip()))
    return triples


def score_folder(engine: Engine, folder: str | Path, *, mode: str, batch: int = 64) -> list[Scored]:
    """Every image of a labelled folder through preprocessing and the model, in ``mode``."""
    scored = []
    triples = read_labels(folder)
    for start in range(0, len(triples), batch):
        chunk = triples[start : start + batch]
        prepared = engine.prepare([path.read_bytes() for path, _, _ in chunk], mode=mode)
        flat = [d.pixels for item in prepared if not isinstance(item, Exception) for d in item]
        probs = engine.probabilities(np.stack(flat)) if flat else None
        cursor = 0
        for (_, label, kind), item in zip(chunk, prepared):
            if isinstance(item, ImageDecodeError):
                raise ValueError(f"{folder}: an image cannot be read: {item}")
            if isinstance(item, Exception):
                scored.append(Scored(label, kind, None, None))
                continue
            scored.append(Scored(label, kind, item, probs[cursor : cursor + len(item)]))
            cursor += len(item)
    return scored


def outcomes(scored: list[Scored], calibration: Calibration, *, mode: str) -> list[Outcome]:
    """The answers serving would give under ``calibration``."""
    made = []
    for item in scored:
        if item.digits is None:
            made.append(Outcome(item.label, item.kind, NOT_A_DIGIT, 1.0))
            continue
        result = answer(item.digits, item.probabilities, mode=mode, calibration=calibration, model_version="")
        if isinstance(result, NotADigit):
            made.append(Outcome(item.label, item.kind, NOT_A_DIGIT, result.confidence))
        else:
            made.append(Outcome(item.label, item.kind, result.text, result.confidence))
    return made


def figures(made: list[Outcome]) -> dict:
    """Accuracy, rejections, ECE and the same per kind, for one set's outcomes."""
    right = np.array([o.right for o in made], bool)
    confidence = np.array([o.confidence for o in made], float)
    rejected = np.array([o.rejected for o in made], bool)
    report = {"count": len(made), "accuracy": float(right.mean()) if made else None,
              "rejected": float(rejected.mean()) if made else None,
              "ece": expected_calibration_error(confidence, right)}
    kinds = sorted({o.kind for o in made if o.kind})
    if kinds:
        report["by_kind"] = {
            kind: {"count": int(sum(o.kind == kind for o in made)),
                   "accuracy": float(np.mean([o.right for o in made if o.kind == kind])),
                   "rejected": float(np.mean([o.rejected for o in made if o.kind == kind]))}
            for kind in kinds}
    return report


def separation(made: list[Outcome]) -> float:
    """AUROC of the confidence for telling right answers from wrong ones."""
    return auroc([o.confidence for o in made], [o.right for o in made])


SET_MODES = {"singles": "digit", "lines": "number", "styles": "digit", "non_digits": "digit"}


def evaluate_sets(engine: Engine, paths: dict[str, Path], calibration: Calibration | None = None,
                  plot: Path | None = None) -> dict:
    """Every figure of the realistic sets in ``paths`` (name -> folder), under ``calibration``
    (default: the engine's own). AUROC is over single digits and non-digits together. With
    ``plot``, the single digits' reliability diagram is drawn there."""
    from ml.calibration import plot_reliability

    calibration = calibration or engine.calibration
    made = {name: outcomes(score_folder(engine, folder, mode=SET_MODES[name]), calibration,
                           mode=SET_MODES[name]) for name, folder in paths.items()}
    report = {name: figures(result) for name, result in made.items()}
    if "singles" in made and "non_digits" in made:
        report["auroc_singles_and_non_digits"] = separation(made["singles"] + made["non_digits"])
    if "singles" in made and plot is not None:
        plot_reliability([o.confidence for o in made["singles"]], [o.right for o in made["singles"]], plot,
                         f"{engine.version}: realistic single digits ({paths['singles'].parent.name} part)")
    return report


def evaluate_mnist(engine: Engine, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Accuracy on MNIST test as published (raw pixels) and through our preprocessing.

    The second figure is what the product does with a 28x28 upload (one already normalised
    the MNIST way is served as it is; see preprocessing.model_form).
    Either way a digit answered "not a digit" counts as wrong.
    """
    answers, _, _ = engine.calibration.read(engine.probabilities(x_test))
    raw = classification_report(y_test, answers)
    results = engine.recognize_many(list(x_test), mode="digit")
    predicted = np.array([r.digits[0].digit if not isinstance(r, Exception) else 10 for r in results])
    preprocessed = classification_report(y_test, predicted)
    preprocessed["no_digit_found"] = int((predicted == 10).sum())
    return {"raw": raw, "preprocessed": preprocessed}
