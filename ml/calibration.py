"""From the model's eleven scores to an answer and a confidence that means what it says.

The model gives softmax scores for digits 0-9 and NOT_A_DIGIT_CLASS. Temperature scaling
(Guo et al., 2017) divides their logits (the log-scores, up to a constant) by one number T
fitted on the tuning sets, which leaves the ranking alone and makes the top score the
probability of being right. An image is "not a digit" when that class wins or its
calibrated score reaches ``reject_at``; the answer's confidence is the calibrated score of
what was answered, and below ``not_sure_below`` the answer says it is not sure.

Inside a number (number and page modes) a mark is left out only when "not a digit" is its
likeliest reading: a digit wrongly left out costs the whole number, as a mark wrongly read
does, so the likeliest reading loses the fewest numbers. A mark as tall as the number's
sure digits is left out only when the model is surer still (``DIGIT_SIZED_LEFT_OUT_AT``).
A mark read as a digit although its not-a-digit score reaches ``reject_at`` is *doubtful*:
it makes the answer not sure, so a mark that is no digit is left out or flagged, never
read silently.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.model import NOT_A_DIGIT_CLASS

ECE_BINS = 15

# Inside a number, a mark at least DIGIT_SIZED as tall as the median of the number's sure
# digits is left out only when its calibrated not-a-digit score reaches
# DIGIT_SIZED_LEFT_OUT_AT; below it, it is read as its likeliest digit and flagged doubtful.
# The calibration is fitted on single images, a sixth of them non-digits; a mark the size
# of the digits beside it is far likelier a digit. On the tuning part's lines (3,000 more,
# `scripts/line_errors.py --lines 3000 --seed 9001`) every digit-sized mark "not a digit"
# won was a digit (not-a-digit 0.50-0.87, each costing its line), while letters drawn alone
# score at least 0.996 in 99 of 100.
DIGIT_SIZED = 0.75
DIGIT_SIZED_LEFT_OUT_AT = 0.9


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    reject_at: float = 1.0  # calibrated not-a-digit score at which an image is rejected even if a digit wins
    not_sure_below: float = 0.0  # answers less confident than this say so

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        return scale(probabilities, self.temperature)

    def read(self, probabilities: np.ndarray, *, in_number: bool = False) -> tuple[
            np.ndarray, np.ndarray, np.ndarray]:
        """Raw (N, 11) scores -> (answers: a digit or NOT_A_DIGIT_CLASS, confidences, calibrated
        scores). ``in_number``: the marks of a number, left out only when that class wins."""
        probabilities = np.asarray(probabilities, np.float64)
        knows_non_digits = probabilities.shape[1] > NOT_A_DIGIT_CLASS
        if not knows_non_digits:  # a model from before that class: never "not a digit"
            probabilities = np.pad(probabilities, ((0, 0), (0, 1)))
        calibrated = self.calibrated(probabilities)
        digit = calibrated[:, :NOT_A_DIGIT_CLASS].argmax(axis=1)
        none = calibrated[:, NOT_A_DIGIT_CLASS]
        rejected = calibrated.argmax(axis=1) == NOT_A_DIGIT_CLASS
        if not in_number:
            rejected |= none >= self.reject_at
        rejected &= knows_non_digits
        answers = np.where(rejected, NOT_A_DIGIT_CLASS, digit)
        confidences = calibrated[np.arange(len(answers)), answers]
        return answers, confidences, calibrated

    def read_number(self, probabilities: np.ndarray, heights) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The marks of a number, raw (N, 11) scores and each mark's height -> (answers,
        confidences, calibrated scores, doubtful): read as ``read(in_number=True)`` does,
        then a digit-sized mark left out with a not-a-digit score under
        DIGIT_SIZED_LEFT_OUT_AT is read as its likeliest digit, doubtful."""
        answers, confidences, calibrated = self.read(probabilities, in_number=True)
        doubtful = self.doubtful(probabilities, answers)
        sure = (answers != NOT_A_DIGIT_CLASS) & ~doubtful
        if sure.any():
            heights = np.asarray(heights, np.float64)
            kept = ((answers == NOT_A_DIGIT_CLASS) & (heights >= DIGIT_SIZED * np.median(heights[sure]))
                    & (calibrated[:, NOT_A_DIGIT_CLASS] < DIGIT_SIZED_LEFT_OUT_AT))
            answers = np.where(kept, calibrated[:, :NOT_A_DIGIT_CLASS].argmax(axis=1), answers)
            confidences = calibrated[np.arange(len(answers)), answers]
            doubtful |= kept
        return answers, confidences, calibrated, doubtful

    def doubtful(self, probabilities: np.ndarray, answers: np.ndarray) -> np.ndarray:
        """Which of ``answers`` (read from raw ``probabilities`` in a number) are digits
        although their not-a-digit score reaches reject_at."""
        probabilities = np.asarray(probabilities, np.float64)
        if probabilities.shape[1] <= NOT_A_DIGIT_CLASS:
            return np.zeros(len(answers), bool)
        none = self.calibrated(probabilities)[:, NOT_A_DIGIT_CLASS]
        return (np.asarray(answers) != NOT_A_DIGIT_CLASS) & (none >= self.reject_at)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_metadata(cls, metadata: dict) -> Calibration:
        """The artifact's calibration; an artifact without one reads its raw scores."""
        return cls(**metadata.get("calibration", {}).get("values", {}))


def scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax scores re-tempered: softmax(log(p) / T)."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T that minimises the negative log-likelihood of ``labels`` (class indices)."""
    from scipy import optimize  # here: scipy takes seconds to import, and serving never fits

    labels = np.asarray(labels, np.int64)

    def nll(log_t: float) -> float:
        p = scale(probabilities, float(np.exp(log_t)))[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    result = optimize.minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the gap between confidence and accuracy in ``bins`` equal-width bins, weighted by count."""
    confidences, correct = np.asarray(confidences, float), np.asarray(correct, float)
    if confidences.size == 0:
        return 0.0
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - confidences[inside].mean())
    return float(total / confidences.size)


def auroc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a positive scores above a negative (ties half)."""
    scores, positives = np.asarray(scores, float), np.asarray(positives, bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy import stats

    ranks = stats.rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reject_threshold(none_scores: np.ndarray, digit_wins: np.ndarray, max_false_rejections: float) -> float:
    """The lowest not-a-digit score at which to reject that keeps real digits' rejections
    (those lost anyway when the not-a-digit class wins, plus those it adds) within budget."""
    none_scores, digit_wins = np.asarray(none_scores, float), np.asarray(digit_wins, bool)
    budget = int(np.floor(max_false_rejections * len(none_scores))) - int((~digit_wins).sum())
    if budget < 0:
        return 1.0
    candidates = np.sort(none_scores[digit_wins])[::-1]
    # Rejecting at the (budget+1)-th highest score would reject budget+1 digits: stay above it.
    return float(np.nextafter(candidates[budget], 1.0)) if budget < len(candidates) else 0.0


def not_sure_threshold(confidences: np.ndarray, correct: np.ndarray, target_accuracy: float,
                       bounds: tuple[float, float] = (0.5, 0.99)) -> float:
    """The lowest confidence at which the answers at or above it are right at least
    ``target_accuracy`` of the time: below it, answers hold most of the mistakes."""
    order = np.argsort(-np.asarray(confidences, float))
    conf, right = np.asarray(confidences, float)[order], np.asarray(correct, float)[order]
    running = np.cumsum(right) / np.arange(1, len(right) + 1)
    ok = np.flatnonzero(running >= target_accuracy)
    threshold = float(conf[ok[-1]]) if ok.size else bounds[1]
    return float(np.clip(threshold, *bounds))


def plot_reliability(confidences: np.ndarray, correct: np.ndarray, path: Path, title: str,
                     bins: int = ECE_BINS) -> None:
    """Reliability diagram: accuracy against confidence per bin, with how many answers each holds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confidences, correct = np.asarray(confidences, float), np.asarray(correct, float)
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    edges = np.linspace(0, 1, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    counts = np.bincount(which, minlength=bins)
    accuracy = np.array([correct[which == b].mean() if counts[b] else np.nan for b in range(bins)])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6.5), height_ratios=[3, 1], sharex=True)
    top.bar(centres, accuracy, width=1 / bins, edgecolor="black", alpha=0.8, label="accuracy")
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    top.set_ylabel("accuracy")
    top.set_ylim(0, 1)
    top.set_title(title, fontsize=9)
    top.legend(loc="upper left")
    bottom.bar(centres, np.maximum(counts, 0.5), width=1 / bins, edgecolor="black", color="grey")
    bottom.set_yscale("log")
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("answers")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
