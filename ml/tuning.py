"""Fitting the calibration on the tuning part, and the measurements that chose the design.

Only the tuning part of the sets (ml/evalsets.py) is used here: the temperature is fitted
on its single digits, style digits and non-digits together (the mix serving sees), the
rejection threshold keeps real digits' false rejections within MAX_FALSE_REJECTIONS, and
the not-sure threshold is where the answers above it are right NOT_SURE_ACCURACY of the time.
With the lines and pages of the tuning part, the report also measures the rule inside a
number (see ml/calibration.py) against the single-digit rule: digits of the lines left out,
and how the non-digits would fare as marks of a number.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ml.calibration import (DIGIT_SIZED_LEFT_OUT_AT, Calibration, auroc, fit_temperature, not_sure_threshold,
                            plot_reliability, reject_threshold)
from ml.evaluate import Outcome, Scored, figures, outcomes, score_folder, separation
from ml.evaluate_pages import score_page_lines
from ml.inference import Engine
from ml.model import NOT_A_DIGIT_CLASS
from ml.synthetic import NOT_A_DIGIT

# The floor is 0.5% on the measuring part; tuning aims lower, for the sampling noise of
# a few thousand images (about 0.1% at this rate).
MAX_FALSE_REJECTIONS = 0.003
# An answer below the not-sure threshold says so: it is where the answers at or above the
# threshold are right 99.5% of the time (one in 200 wrong), so most mistakes fall below it.
NOT_SURE_ACCURACY = 0.995
SETS = ("singles", "styles", "non_digits")  # scored in digit mode


def _class_of(label: str) -> int:
    return NOT_A_DIGIT_CLASS if label == NOT_A_DIGIT else int(label)


def _rows(scored: list[Scored]) -> tuple[np.ndarray, np.ndarray]:
    kept = [s for s in scored if s.digits is not None]
    return (np.concatenate([s.probabilities for s in kept]),
            np.array([_class_of(s.label) for s in kept], np.int64))


def _option(name: str, made: dict[str, list[Outcome]]) -> dict:
    digits = made["singles"] + made["styles"]
    return {
        "option": name,
        "false_rejections_singles": figures(made["singles"])["rejected"],
        "false_rejections_styles": figures(made["styles"])["rejected"],
        "accuracy_singles": figures(made["singles"])["accuracy"],
        "non_digits_rejected": figures(made["non_digits"])["rejected"],
        "non_digits_rejected_by_kind": {k: v["rejected"] for k, v in figures(made["non_digits"])["by_kind"].items()},
        "ece_singles": figures(made["singles"])["ece"],
        "auroc_singles_and_non_digits": separation(made["singles"] + made["non_digits"]),
        "digits_scored": len(digits),
    }


def fit(engine: Engine, paths: dict[str, Path], plot: Path | None = None) -> tuple[Calibration, dict]:
    """The calibration for ``engine``'s model from the tuning sets in ``paths``, and a
    report of the options compared (raw argmax, calibrated argmax, with the threshold)."""
    scored = {name: score_folder(engine, paths[name], mode="digit") for name in SETS}
    probabilities, labels = _rows(scored["singles"] + scored["styles"] + scored["non_digits"])
    temperature = fit_temperature(probabilities, labels)
    digit_probs, _ = _rows(scored["singles"] + scored["styles"])
    calibrated = Calibration(temperature).calibrated(digit_probs)
    reject_at = reject_threshold(calibrated[:, NOT_A_DIGIT_CLASS],
                                 calibrated.argmax(axis=1) != NOT_A_DIGIT_CLASS, MAX_FALSE_REJECTIONS)
    rejecting = Calibration(temperature, reject_at)
    made = {name: outcomes(scored[name], rejecting, mode="digit") for name in SETS}
    everything = made["singles"] + made["styles"] + made["non_digits"]
    not_sure = not_sure_threshold([o.confidence for o in everything], [o.right for o in everything],
                                  NOT_SURE_ACCURACY)
    calibration = Calibration(temperature, reject_at, not_sure)
    options = []
    for name, candidate in (("argmax of 11 raw scores", Calibration()),
                            ("argmax of 11 calibrated scores", Calibration(temperature)),
                            ("calibrated, not-a-digit score >= reject_at also rejects", calibration)):
        options.append(_option(name, {n: outcomes(scored[n], candidate, mode="digit") for n in SETS}))
    if plot is not None:
        singles = made["singles"]
        plot_reliability([o.confidence for o in singles], [o.right for o in singles], plot,
                         f"{engine.version}: realistic single digits, tuning part")
    below = np.mean([o.confidence < not_sure for o in everything])
    in_numbers = {}
    if "lines" in paths:
        lines = score_folder(engine, paths["lines"], mode="number")
        pages = score_page_lines(engine, paths["pages"]) if "pages" in paths else []
        in_numbers = {"in_numbers": numbers_report(lines, pages, scored["non_digits"], calibration)}
    return calibration, {
        "values": calibration.to_dict(),
        "fitted_on": "tuning part: " + ", ".join(f"{n} ({len(scored[n])})" for n in SETS),
        "max_false_rejections": MAX_FALSE_REJECTIONS,
        "not_sure_accuracy": NOT_SURE_ACCURACY,
        "not_sure_share_on_tuning": float(below),
        "options": options,
        **in_numbers,
    }


def numbers_report(lines: list[Scored], page_lines: list[Scored], non_digits: list[Scored],
                   calibration: Calibration) -> dict:
    """The marks of numbers under the rule inside a number and under the single-digit rule:
    the digits of ``lines`` and ``page_lines`` (those cut into as many marks as they have
    digits) left out, and the ``non_digits`` as digit-sized marks of a number beside sure
    digits (the case in which the fewest are left out): left out, flagged (doubtful) or read
    as digits."""
    cut = [s for s in lines + page_lines if s.digits is not None and len(s.digits) == len(s.label)]
    digits = np.concatenate([s.probabilities for s in cut])
    marks, _ = _rows(non_digits)
    answers, _, calibrated = calibration.read(marks, in_number=True)
    left_out = (answers == NOT_A_DIGIT_CLASS) & (calibrated[:, NOT_A_DIGIT_CLASS] >= DIGIT_SIZED_LEFT_OUT_AT)
    flagged = calibration.doubtful(marks, answers) | ((answers == NOT_A_DIGIT_CLASS) & ~left_out)
    return {
        "rule": "a mark of a number is left out when not-a-digit is its likeliest reading, and a mark as tall "
                f"as the number's sure digits only when its not-a-digit score reaches {DIGIT_SIZED_LEFT_OUT_AT}; "
                "a mark read as a digit is flagged (the answer is not sure) when it is such a mark or its "
                "not-a-digit score reaches reject_at",
        "measured_on": f"tuning part: lines ({len(lines)}), lines of pages ({len(page_lines)}), "
                     f"non_digits ({len(non_digits)})",
        "digits": len(digits),
        "digits_left_out": sum(int((calibration.read_number(s.probabilities, [d.box[3] for d in s.digits])[0]
                                    == NOT_A_DIGIT_CLASS).sum()) for s in cut),
        "digits_left_out_by_the_single_digit_rule": int(
            (calibration.read(digits)[0] == NOT_A_DIGIT_CLASS).sum()),
        "non_digit_marks": len(marks),
        "non_digit_marks_left_out": int(left_out.sum()),
        "non_digit_marks_flagged": int(flagged.sum()),
        "non_digit_marks_read": int((~left_out & ~flagged).sum()),
    }


def _energies(engine: Engine, scored: list[Scored]) -> np.ndarray:
    """logsumexp of the pre-softmax scores (minus the energy): the model's last layer
    without its softmax. -inf where preprocessing found no digit."""
    import keras

    dense = engine._model.get_layer("probabilities")
    features = keras.Model(engine._model.input, dense.input)
    kernel, bias = dense.get_weights()
    kept = [s.digits[0].pixels for s in scored if s.digits is not None]
    logits = np.asarray(features(np.stack(kept)[..., None], training=False)) @ kernel + bias
    values = iter(logsumexp(logits[:, :NOT_A_DIGIT_CLASS], axis=1))
    return np.array([next(values) if s.digits is not None else -np.inf for s in scored])


def score_baselines(engine: Engine, paths: dict[str, Path]) -> list[dict]:
    """Rejection without a not-a-digit class, for comparison: a threshold on the top digit
    probability (max-softmax) or on the energy (logsumexp of the digit logits), each set
    where it keeps false rejections of real digits within MAX_FALSE_REJECTIONS on the
    tuning part."""
    scored = {name: score_folder(engine, paths[name], mode="digit") for name in SETS}
    max_softmax = {n: np.array([s.probabilities[0][:NOT_A_DIGIT_CLASS].max() if s.digits is not None else -np.inf
                                for s in scored[n]]) for n in SETS}
    energy = {n: _energies(engine, scored[n]) for n in SETS}
    results = []
    for name, values in (("max-softmax threshold", max_softmax), ("energy threshold", energy)):
        digit_values = np.concatenate([values["singles"], values["styles"]])
        threshold = float(np.quantile(digit_values, MAX_FALSE_REJECTIONS))
        by_kind = {}
        for item, value in zip(scored["non_digits"], values["non_digits"]):
            by_kind.setdefault(item.kind, []).append(value < threshold)
        results.append({
            "option": name, "threshold": threshold,
            "false_rejections_singles": float((values["singles"] < threshold).mean()),
            "false_rejections_styles": float((values["styles"] < threshold).mean()),
            "non_digits_rejected": float((values["non_digits"] < threshold).mean()),
            "non_digits_rejected_by_kind": {k: float(np.mean(v)) for k, v in sorted(by_kind.items())},
            "auroc_digits_vs_non_digits": _auroc_ood(digit_values, values["non_digits"]),
        })
    return results


def _auroc_ood(digit_values: np.ndarray, non_digit_values: np.ndarray) -> float:
    """How well the score tells digits (positives) from non-digits."""
    values = np.concatenate([digit_values, non_digit_values])
    return auroc(np.maximum(values, -1e9), np.r_[np.ones(len(digit_values), bool), np.zeros(len(non_digit_values), bool)])
