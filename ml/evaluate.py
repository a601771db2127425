"""Evaluation: MNIST test, and folders of labelled images through the serving path."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ml.inference import Engine
from ml.report import classification_report


def evaluate_mnist(engine: Engine, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Accuracy on MNIST test as published (raw pixels) and through our preprocessing.

    The second figure is what the product does with a 28x28 image: it re-normalises it.
    """
    raw = classification_report(y_test, engine.probabilities(x_test).argmax(axis=1))
    results = engine.recognize_many(list(x_test), mode="digit")
    predicted = np.array([r.digits[0].digit if not isinstance(r, Exception) else -1 for r in results])
    preprocessed = classification_report(y_test, np.where(predicted < 0, (y_test + 1) % 10, predicted))
    preprocessed["no_digit_found"] = int((predicted < 0).sum())
    return {"raw": raw, "preprocessed": preprocessed}


def read_labels(folder: str | Path) -> list[tuple[Path, str]]:
    """``labels.csv`` (columns file,label) of a folder of images; a label may hold several digits."""
    folder = Path(folder)
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a folder to evaluate needs labels.csv (file,label)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"file", "label"} <= set(rows[0]):
        raise ValueError(f"{path} must have the columns file,label")
    pairs = []
    for row in rows:
        label = row["label"].strip()
        if not label.isdigit():
            raise ValueError(f"{path}: label {label!r} of {row['file']} is not digits")
        pairs.append((folder / row["file"], label))
    return pairs


def evaluate_folder(engine: Engine, folder: str | Path, batch: int = 64) -> dict:
    """Accuracy on a labelled folder: single-digit labels in digit mode, longer ones as lines."""
    pairs = read_labels(folder)
    singles_true, singles_pred = [], []
    lines_total = lines_exact = 0
    failures = []
    for mode, selected in (("digit", [p for p in pairs if len(p[1]) == 1]),
                           ("number", [p for p in pairs if len(p[1]) > 1])):
        for start in range(0, len(selected), batch):
            chunk = selected[start : start + batch]
            results = engine.recognize_many([path.read_bytes() for path, _ in chunk], mode=mode)
            for (path, label), result in zip(chunk, results):
                answer = "" if isinstance(result, Exception) else result.text
                if mode == "digit":
                    singles_true.append(int(label))
                    singles_pred.append(int(answer) if answer else (int(label) + 1) % 10)
                else:
                    lines_total += 1
                    lines_exact += answer == label
                if answer != label:
                    failures.append({"file": path.name, "label": label,
                                     "answer": answer or f"({result})"})
    report: dict = {"images": len(pairs), "failures": failures}
    if singles_true:
        report["single_digits"] = classification_report(np.array(singles_true), np.array(singles_pred))
    if lines_total:
        report["lines"] = {"count": lines_total, "exact_accuracy": lines_exact / lines_total}
    return report
