"""The shipped model, measured: the figures the product promises its users."""
import numpy as np
import pytest

from ml import synthetic
from ml.evaluate import evaluate_sets
from ml.report import classification_report


def test_the_shipped_artifact_records_its_training(engine):
    metadata = engine.metadata
    assert metadata["test_accuracy"] >= 0.996
    assert metadata["data"]["train_images"] + metadata["data"]["validation_images"] == 60000
    assert sum(map(sum, metadata["confusion_matrix"])) == 10000


def test_it_scores_at_least_99_6_on_mnist_test(engine, mnist):
    predicted = engine.probabilities(mnist.x_test).argmax(axis=1)
    assert classification_report(mnist.y_test, predicted)["accuracy"] >= 0.996


def test_it_keeps_its_accuracy_through_preprocessing(engine, mnist):
    # A 28x28 upload is re-normalised; that must not cost the MNIST figure much.
    results = engine.recognize_many(list(mnist.x_test[:2000]))
    answers = np.array([r.digits[0].digit for r in results])
    assert (answers == mnist.y_test[:2000]).mean() >= 0.99


@pytest.fixture(scope="module")
def robustness_report(engine, tmp_path_factory, mnist):
    """The shipped model's evaluation on realistic single digits and lines, made once."""
    folder = tmp_path_factory.mktemp("robustness")
    singles = synthetic.write_folder(synthetic.single_digits(mnist.x_test, mnist.y_test, 500, seed=7),
                                     folder / "singles")
    lines = synthetic.write_folder(synthetic.digit_lines(mnist.x_test, mnist.y_test, 150, seed=8), folder / "lines")
    return evaluate_sets(engine, {"singles": singles, "lines": lines})


def test_it_reads_realistic_single_digits(robustness_report):
    # Off-centre, any size, either polarity, paper tones, noise, blur, rotation, JPEG.
    assert robustness_report["singles"]["accuracy"] >= 0.98, robustness_report["singles"]


def test_it_reads_realistic_lines_of_digits_exactly(robustness_report):
    assert robustness_report["lines"]["accuracy"] >= 0.95, robustness_report["lines"]
