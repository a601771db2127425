"""Accuracy figures and plots shared by training and evaluation."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def classification_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, per-class accuracy (recall) and the 10x11 confusion matrix (rows: truth;
    the last column counts digits answered "not a digit", class 10)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.zeros((10, 11), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_class = {
        str(d): (float(confusion[d, d] / confusion[d].sum()) if confusion[d].sum() else None)
        for d in range(10)
    }
    return {
        "count": int(y_true.size),
        "accuracy": float((y_true == y_pred).mean()) if y_true.size else None,
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
    }


def plot_confusion_matrix(confusion: list[list[int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    # Log scale: the diagonal is ~1000 and the interesting errors are 1-5.
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                colour = "white" if i == j else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(matrix.shape[1]), [str(d) for d in range(10)] + ["none"][: matrix.shape[1] - 10])
    ax.set_yticks(range(matrix.shape[0]))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_training_curves(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history["loss"]) + 1)
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            loss_ax.plot(epochs, history[key], label=label)
    for key, label in (("accuracy", "train"), ("val_accuracy", "validation")):
        if key in history:
            acc_ax.plot(epochs, history[key], label=label)
    loss_ax.set_title("loss")
    acc_ax.set_title("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# The floors of issue 15 and 19: (figure, its path in the evaluation report, at least / at most,
# the floor, and which per-kind figure to list under it).
FLOORS = [
    ("MNIST test, raw pixels", ("mnist", "raw", "accuracy"), ">=", 0.997, None),
    ("MNIST test through the serving preprocessing", ("mnist", "preprocessed", "accuracy"), ">=", 0.9965, None),
    ("Realistic single digits", ("sets", "singles", "accuracy"), ">=", 0.995, None),
    ("Lines of 2-6 digits, exact", ("sets", "lines", "accuracy"), ">=", 0.98, None),
    ("Style set", ("sets", "styles", "accuracy"), ">=", 0.99, "accuracy"),
    ("Real digits rejected as non-digits (singles)", ("sets", "singles", "rejected"), "<=", 0.005, None),
    ("Real digits rejected as non-digits (styles)", ("sets", "styles", "rejected"), "<=", 0.005, None),
    ("Non-digits rejected", ("sets", "non_digits", "rejected"), None, None, "rejected"),
    ("ECE, realistic single digits (15 bins)", ("sets", "singles", "ece"), "<=", 0.015, None),
    ("ECE, lines (confidence of the whole string)", ("sets", "lines", "ece"), None, None, None),
    ("AUROC right vs wrong, singles + non-digits", ("sets", "auroc_singles_and_non_digits"), ">=", 0.97, None),
    # Issue 19's targets for page mode.
    ("Pages of 2-5 lines, every line exact", ("sets", "pages", "accuracy"), ">=", 0.90, None),
    ("Lines of the pages, exact", ("sets", "pages", "lines", "accuracy"), ">=", 0.97, None),
    ("Pages whose lines were all found", ("sets", "pages", "line_count_right"), None, None, None),
    ("ECE, pages (confidence that every line is right)", ("sets", "pages", "ece"), None, None, None),
]


def _at(report: dict, path: tuple[str, ...]):
    for key in path:
        report = report.get(key) if isinstance(report, dict) else None
    return report


def _shown(value: float, is_share: bool) -> str:
    return f"{100 * value:.2f}%" if is_share else f"{value:.4f}"


def evaluation_table(report: dict) -> list[str]:
    """One table of every figure against its floor, per-kind figures under their set's."""
    lines = [f"{'figure':<50} {'images':>7} {'value':>8} {'floor':>9}  ok"]
    for name, path, op, floor, per_kind in FLOORS:
        value = _at(report, path)
        if value is None:
            continue
        share = not name.startswith("AUROC")
        count = _at(report, path[:-1] + ("count",)) if share else None
        ok = "" if op is None else ("yes" if (value >= floor if op == ">=" else value <= floor) else "NO")
        floor_text = "" if op is None else f"{op}{_shown(floor, share)}"
        lines.append(f"{name:<50} {count or '':>7} {_shown(value, share):>8} {floor_text:>9}  {ok}")
        for kind, part in (_at(report, path[:-1] + ("by_kind",)) or {}).items() if per_kind else ():
            lines.append(f"  {kind:<48} {part['count']:>7} {_shown(part[per_kind], True):>8}")
    return lines
