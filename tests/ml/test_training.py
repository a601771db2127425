import json

import numpy as np
from django.conf import settings

from ml.artifact import load_metadata
from ml.inference import Engine
from ml.train import TrainConfig, train


def test_it_trains_a_small_model_and_writes_a_complete_artifact(tmp_path, mnist):
    artifact = train(mnist_dir=settings.MNIST_DIR, out_dir=tmp_path,
                     config=TrainConfig(epochs=3, limit=2000, batch_size=64), command="test", verbose=0)
    metadata = load_metadata(artifact)
    for key in ("version", "created_at", "model_sha256", "data", "hyperparameters", "training_seconds",
                "test_accuracy", "per_class_accuracy", "confusion_matrix", "history", "command"):
        assert key in metadata, key
    assert metadata["data"]["mnist_sha256"]["t10k-images-idx3-ubyte"].startswith("0fa7898d")
    assert metadata["hyperparameters"]["limit"] == 2000
    # 2,000 digits, and style digits and non-digits in proportion (a few blank renders dropped).
    assert metadata["data"]["styled_images"] > 150 and metadata["data"]["non_digit_images"] > 150
    assert metadata["data"]["train_images"] == 2000 + metadata["data"]["styled_images"] + metadata["data"]["non_digit_images"]
    assert np.asarray(metadata["confusion_matrix"]).sum() == 10000
    # Three epochs on 2,000 images (most shown as realistic or served copies) are far from
    # done, but they learn: chance is 10%.
    assert metadata["test_accuracy"] > 0.3
    assert (artifact / "training_curves.png").stat().st_size > 1000
    assert (artifact / "confusion_matrix.png").stat().st_size > 1000
    assert Engine(artifact).probabilities(mnist.x_test[:3]).shape == (3, 11)
    json.dumps(metadata)  # plain JSON, nothing numpy-typed
