"""The shipped model, measured: the figures the product promises its users."""
import numpy as np
import pytest

from ml import synthetic
from ml.evaluate import evaluate_folder
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
def robustness_dir(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("robustness")
    samples = synthetic.single_digits(mnist.x_test, mnist.y_test, 250, seed=7)
    samples += synthetic.digit_lines(mnist.x_test, mnist.y_test, 150, seed=8)
    return synthetic.write_folder(samples, folder)


@pytest.fixture(scope="module")
def robustness_report(engine, robustness_dir):
    """The shipped model's evaluation on the robustness set, made once for both tests."""
    return evaluate_folder(engine, robustness_dir)


def test_it_reads_realistic_single_digits(robustness_report):
    # Off-centre, any size, either polarity, paper tones, noise, blur, rotation, JPEG.
    report = robustness_report
    assert report["single_digits"]["accuracy"] >= 0.98, report["failures"][:20]


def test_it_reads_realistic_lines_of_digits_exactly(robustness_report):
    report = robustness_report
    assert report["lines"]["exact_accuracy"] >= 0.95, report["failures"][:20]
