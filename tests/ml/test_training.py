import json

import numpy as np
from django.conf import settings

from ml.artifact import load_metadata
from ml.inference import Engine
from ml.train import VALIDATION_SIZE, TrainConfig, train
from tests.conftest import TRAINING_LIMIT


def test_it_trains_a_small_model_and_writes_a_complete_artifact(tmp_path, mnist, trainset_cache):
    # Fine-tuned from an earlier model (its ten outputs kept, the eleventh added): two short
    # epochs from scratch would not learn enough to show that it learns.
    config = TrainConfig(epochs=2, limit=TRAINING_LIMIT, batch_size=64, init_from="cnn-20261126-010844")
    artifact = train(mnist_dir=settings.MNIST_DIR, out_dir=tmp_path, config=config, command="test",
                     verbose=0, cache_dir=trainset_cache)
    metadata = load_metadata(artifact)
    for key in ("version", "created_at", "model_sha256", "data", "hyperparameters", "training_seconds",
                "test_accuracy", "per_class_accuracy", "confusion_matrix", "history", "command"):
        assert key in metadata, key
    assert metadata["data"]["mnist_sha256"]["t10k-images-idx3-ubyte"].startswith("0fa7898d")
    assert metadata["hyperparameters"]["limit"] == TRAINING_LIMIT
    # 1,000 digits, and style digits and non-digits in proportion (a few blank renders dropped).
    share = TRAINING_LIMIT / (len(mnist.x_train) - VALIDATION_SIZE)
    data = metadata["data"]
    assert 0.9 * int(config.styled_images * share) <= data["styled_images"] <= int(config.styled_images * share)
    # Paper (one kind in eight) and blank renders are dropped: the ink finder answers them itself.
    assert 0.8 * int(config.non_digit_images * share) <= data["non_digit_images"] <= int(config.non_digit_images * share)
    assert data["train_images"] == TRAINING_LIMIT + data["styled_images"] + data["non_digit_images"]
    assert np.asarray(metadata["confusion_matrix"]).sum() == 10000
    # Two epochs on 1,000 images (most shown as realistic or served copies) are far from
    # done, but the model is fine-tuned from a trained one and must still read: chance is 10%.
    assert metadata["test_accuracy"] > 0.3
    assert (artifact / "training_curves.png").stat().st_size > 1000
    assert (artifact / "confusion_matrix.png").stat().st_size > 1000
    assert Engine(artifact).probabilities(mnist.x_test[:3]).shape == (3, 11)
    json.dumps(metadata)  # plain JSON, nothing numpy-typed
