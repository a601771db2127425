"""Calibration: temperature, thresholds, ECE and AUROC on inputs whose answers are known."""
import numpy as np
import pytest

from ml.calibration import (Calibration, auroc, expected_calibration_error, fit_temperature,
                            not_sure_threshold, reject_threshold, scale)
from ml.model import NOT_A_DIGIT_CLASS


def test_ece_is_the_gap_between_confidence_and_accuracy():
    assert expected_calibration_error(np.ones(100), np.r_[np.ones(90), np.zeros(10)]) == pytest.approx(0.1)
    # Two bins, each exactly as accurate as it is confident.
    confidences = np.r_[np.full(10, 0.6), np.full(20, 0.95)]
    correct = np.r_[np.ones(6), np.zeros(4), np.ones(19), np.zeros(1)]
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.0, abs=1e-9)


def test_auroc_counts_how_often_right_answers_score_above_wrong_ones():
    assert auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.9, 0.3, 0.6, 0.1], [True, True, False, False]) == 0.75


def test_it_recovers_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 11))
    raw = scale(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 1.0)
    truth = scale(raw, 2.0)
    labels = (truth.cumsum(axis=1) < rng.random((len(truth), 1))).sum(axis=1)
    assert fit_temperature(raw, labels) == pytest.approx(2.0, rel=0.05)


def test_temperature_keeps_the_ranking_and_softens_the_scores():
    raw = np.array([[0.9, 0.05] + [0.05 / 9] * 9])
    softer = scale(raw, 2.0)
    assert softer.argmax() == raw.argmax() and softer.max() < raw.max()
    np.testing.assert_allclose(softer.sum(), 1.0)


def test_the_reject_threshold_stays_within_the_false_rejection_budget():
    none = np.array([0.01, 0.02, 0.05, 0.3, 0.6])
    wins = np.array([True, True, True, True, True])
    threshold = reject_threshold(none, wins, max_false_rejections=0.2)  # one of five may go
    assert ((none >= threshold) | ~wins).sum() == 1 and threshold > 0.3
    assert reject_threshold(none, np.array([False, False, True, True, True]), 0.2) == 1.0


def test_it_answers_not_a_digit_when_that_class_wins_or_reaches_the_threshold():
    row = lambda none, seven: np.r_[np.full(10, (1 - none - seven) / 9) * (np.arange(10) != 7)  # noqa: E731
                                    + seven * (np.arange(10) == 7), none]
    raw = np.stack([row(0.8, 0.15), row(0.3, 0.65), row(0.01, 0.98)])
    answers, confidences, calibrated = Calibration(reject_at=0.25).read(raw)
    assert answers.tolist() == [NOT_A_DIGIT_CLASS, NOT_A_DIGIT_CLASS, 7]
    np.testing.assert_allclose(confidences, [0.8, 0.3, 0.98], atol=1e-9)
    assert Calibration().read(raw)[0].tolist() == [NOT_A_DIGIT_CLASS, 7, 7]


def test_inside_a_number_a_mark_is_left_out_only_when_that_class_wins():
    row = lambda none, seven: np.r_[np.full(10, (1 - none - seven) / 9) * (np.arange(10) != 7)  # noqa: E731
                                    + seven * (np.arange(10) == 7), none]
    raw = np.stack([row(0.8, 0.15), row(0.3, 0.65), row(0.01, 0.98)])
    calibration = Calibration(reject_at=0.25)
    answers, confidences, _ = calibration.read(raw, in_number=True)
    assert answers.tolist() == [NOT_A_DIGIT_CLASS, 7, 7]
    np.testing.assert_allclose(confidences, [0.8, 0.65, 0.98], atol=1e-9)
    # The 7 whose not-a-digit score reaches reject_at is doubtful; the sure 7 is not.
    assert calibration.doubtful(raw, answers).tolist() == [False, True, False]
    assert not Calibration(reject_at=0.0).doubtful(np.eye(10)[[3]], np.array([3])).any()  # ten classes


def test_a_ten_class_model_is_never_answered_not_a_digit():
    answers, confidences, _ = Calibration(reject_at=0.0).read(np.eye(10)[[3, 4]])
    assert answers.tolist() == [3, 4] and confidences.tolist() == pytest.approx([1.0, 1.0])


def test_the_not_sure_threshold_leaves_the_target_accuracy_above_it():
    confidences = np.linspace(0.5, 1.0, 1000)
    correct = confidences > 0.7  # every answer below 0.7 is wrong
    threshold = not_sure_threshold(confidences, correct, 0.995)
    above = confidences >= threshold
    assert correct[above].mean() >= 0.995 and threshold == pytest.approx(0.7, abs=0.01)
