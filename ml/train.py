"""Training: MNIST plus augmentation in, a versioned artifact out.

An artifact is a folder ``<out_dir>/<version>/`` holding ``model.keras``, ``metadata.json``
(everything needed to trust and reproduce it) and PNG plots of the training curves and the
test confusion matrix.
"""
from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ml import data, trainset
from ml.artifact import METADATA_FILE, MODEL_FILE, sha256_of
from ml.model import NOT_A_DIGIT_CLASS, NUM_CLASSES
from ml.report import classification_report, plot_confusion_matrix, plot_training_curves

VALIDATION_SIZE = 2000


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 2e-3
    width: int = 32
    dropout: float = 0.4
    seed: int = 1234
    # Start from this artifact's weights (a folder name in the artifacts folder, or a path),
    # its ten digit outputs kept and the not-a-digit output added; None: from scratch.
    init_from: str | None = None
    # Each epoch a training digit is shown as one of three views: a realistic photo or
    # drawing of it (realistic_share), itself re-rendered by preprocessing (served_share),
    # both put through the serving preprocessing, or else its raw MNIST pixels.
    realistic_share: float = 0.45
    served_share: float = 0.25
    # Realistic copies are made of this many digits (the costliest images to make); the
    # others show their served copy instead. None: of every digit.
    realistic_digits: int | None = 16000
    # Style digits (ml/styles.py) and non-digits (ml/negatives.py) added to the training set.
    styled_images: int = 5000
    non_digit_images: int = 8000
    # Train on the first N training images only (quick runs and tests); None: all 58,000.
    # The style and non-digit counts shrink in proportion.
    limit: int | None = None


def _dataset(x, y, *, config: TrainConfig, augment: bool, views=None):
    import tensorflow as tf

    from ml.augment import augment_batch

    if not augment:
        ds = tf.data.Dataset.from_tensor_slices((x[..., None].astype("float32"), y.astype("int32")))
        return ds.batch(512).prefetch(tf.data.AUTOTUNE)
    realistic, served = views if views is not None else (x, x)
    ds = tf.data.Dataset.from_tensor_slices((x[..., None], realistic[..., None], served[..., None],
                                             y.astype("int32")))
    ds = ds.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    real_below, served_below = config.realistic_share, config.realistic_share + config.served_share

    def pick(raw, real, serve, label):
        u = tf.random.uniform([], seed=config.seed)
        view = tf.where(u < real_below, real, tf.where(u < served_below, serve, raw))
        return tf.cast(view, tf.float32), label

    ds = ds.map(pick).batch(config.batch_size)
    # A counter gives every batch its own stateless seed, so runs are repeatable.
    counter = tf.data.Dataset.counter()
    ds = tf.data.Dataset.zip((ds, counter)).map(
        lambda batch, step: (augment_batch(batch[0], tf.stack([config.seed, step])), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def predict_in_batches(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities for uint8 images (N, 28, 28), without Keras' predict() overhead."""
    outputs = [
        model(x[i : i + batch_size, ..., None], training=False).numpy()
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, NUM_CLASSES), np.float32)


def train(*, mnist_dir: str | Path, out_dir: str | Path, config: TrainConfig = TrainConfig(),
          command: str = "", verbose: int = 1,
          extra_train: tuple[np.ndarray, np.ndarray] | None = None,
          sets_dir: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """Train a model and write its artifact; returns the artifact folder. With ``sets_dir``,
    also calibrate it on the tuning part of the evaluation sets there (see calibrate); with
    ``cache_dir``, keep generated training images there for the next run.

    ``extra_train``: more (uint8 (N, 28, 28) model inputs, labels) to train on, such as
    reviewed predictions. They are already what serving feeds the model, so they are their
    own realistic copy; validation and test stay pure MNIST.
    """
    import keras

    from ml.model import build_model

    started = time.perf_counter()
    mnist = data.load(mnist_dir)
    keras.utils.set_random_seed(config.seed)

    order = np.random.default_rng(config.seed).permutation(len(mnist.x_train))
    val_idx, train_idx = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    train_idx_all = train_idx
    if config.limit is not None:
        train_idx = train_idx[: config.limit]
        val_idx = val_idx[: max(100, config.limit // 10)]
    x_train, y_train = mnist.x_train[train_idx], mnist.y_train[train_idx]
    x_val, y_val = mnist.x_train[val_idx], mnist.y_train[val_idx]

    share = 1.0 if config.limit is None else len(x_train) / len(train_idx_all)
    realistic, served, extra_x, extra_y = trainset.generate(
        x_train, y_train, styled=int(config.styled_images * share),
        non_digits=int(config.non_digit_images * share), seed=config.seed, cache_dir=cache_dir,
        realistic_digits=None if config.realistic_digits is None else int(config.realistic_digits * share))
    generated = {"styled_images": int((extra_y != NOT_A_DIGIT_CLASS).sum()),
                 "non_digit_images": int((extra_y == NOT_A_DIGIT_CLASS).sum())}
    extra_images = 0
    if extra_train is not None and len(extra_train[0]):
        extra_images = len(extra_train[0])
        extra_x = np.concatenate([extra_x, np.asarray(extra_train[0], dtype=np.uint8).reshape(-1, 28, 28)])
        extra_y = np.concatenate([extra_y, np.asarray(extra_train[1], dtype=np.int64)])
    # Extra examples are already what serving feeds the model: every view of them is the same.
    x_train, y_train = np.concatenate([x_train, extra_x]), np.concatenate([y_train.astype(np.int64), extra_y])
    realistic, served = np.concatenate([realistic, extra_x]), np.concatenate([served, extra_x])
    generation_seconds = time.perf_counter() - started
    steps = config.epochs * int(np.ceil(len(x_train) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=steps, alpha=0.01,
        warmup_target=None,
    )
    model = build_model(width=config.width, dropout=config.dropout)
    if config.init_from:
        _start_from(model, _artifact_path(config.init_from, out_dir))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        _dataset(x_train, y_train, config=config, augment=True, views=(realistic, served)),
        validation_data=_dataset(x_val, y_val, config=config, augment=False),
        epochs=config.epochs,
        shuffle=False,  # the dataset shuffles itself, reproducibly
        verbose=verbose,
    ).history
    training_seconds = time.perf_counter() - started

    test_probs = predict_in_batches(model, mnist.x_test)
    test_report = classification_report(mnist.y_test, test_probs.argmax(axis=1))

    created = datetime.now(timezone.utc)
    version = f"cnn-{created:%Y%m%d-%H%M%S}"
    artifact_dir = Path(out_dir) / version
    artifact_dir.mkdir(parents=True, exist_ok=False)
    # Save an uncompiled copy: no optimizer state, so the file is small and load-only.
    clean = build_model(width=config.width, dropout=config.dropout)
    clean.set_weights(model.get_weights())
    clean.save(artifact_dir / MODEL_FILE)

    plot_training_curves(history, artifact_dir / "training_curves.png")
    plot_confusion_matrix(
        test_report["confusion_matrix"], artifact_dir / "confusion_matrix.png",
        f"{version}: MNIST test, {100 * test_report['accuracy']:.2f}%",
    )
    metadata = {
        "version": version,
        "created_at": created.isoformat(),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_of(artifact_dir / MODEL_FILE),
        "input": {"shape": [28, 28, 1], "dtype": "uint8", "range": [0, 255],
                  "polarity": "white ink on black, MNIST-normalised (see ml/preprocessing.py)"},
        "data": {"mnist_sha256": mnist.hashes, "train_images": int(len(x_train)),
                 "extra_train_images": extra_images, **generated,
                 "validation_images": int(len(x_val)), "test_images": int(len(mnist.x_test))},
        "hyperparameters": asdict(config),
        "training_seconds": round(training_seconds, 1),
        "generation_seconds": round(generation_seconds, 1),
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.items()},
        "test_accuracy": test_report["accuracy"],
        "per_class_accuracy": test_report["per_class_accuracy"],
        "confusion_matrix": test_report["confusion_matrix"],
        "environment": {
            "python": platform.python_version(),
            "tensorflow": _version("tensorflow"),
            "keras": keras.__version__,
            "numpy": np.__version__,
            "machine": platform.machine(),
        },
        "command": command or " ".join(sys.argv),
    }
    (artifact_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    if sets_dir is not None:
        # A quick run (a limit on the training images: tests, trials) is calibrated on a small
        # tuning part of its own: the full one takes minutes to build.
        quick = config.limit is not None
        calibrate(artifact_dir, mnist, Path(sets_dir) / "quick" if quick else sets_dir,
                  counts=QUICK_TUNING_COUNTS if quick else None, pages=QUICK_TUNING_PAGES if quick else None)
    return artifact_dir


def _artifact_path(name: str, out_dir: str | Path) -> Path:
    for folder in (Path(name), Path(out_dir) / name, Path(__file__).parent / "artifacts" / name):
        if (folder / MODEL_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no artifact {name!r} to start from (looked in {out_dir} and ml/artifacts)")


def _start_from(model, artifact: Path) -> None:
    """Copy an artifact's weights into ``model``; a ten-digit output layer gains the
    not-a-digit output, starting at zero weight."""
    import keras

    old = keras.saving.load_model(artifact / MODEL_FILE, compile=False)
    for new_layer, old_layer in zip(model.layers, old.layers):
        weights = old_layer.get_weights()
        if new_layer.name == "probabilities" and weights[0].shape[1] == NOT_A_DIGIT_CLASS:
            kernel, bias = weights
            weights = [np.pad(kernel, ((0, 0), (0, 1))), np.pad(bias, (0, 1))]
        new_layer.set_weights(weights)


QUICK_TUNING_COUNTS = {"singles": 200, "lines": 40, "styles": 80, "non_digits": 80}
QUICK_TUNING_PAGES = 20


def calibrate(artifact_dir: Path, mnist: data.Mnist, sets_dir: str | Path,
              counts: dict[str, int] | None = None, pages: int | None = None) -> dict:
    """Fit the artifact's calibration (temperature, thresholds) on the tuning part of the
    sets in ``sets_dir`` (built there if missing; ``pages``: how many pages, default the
    full part's), store it in its metadata.json with the options compared and the rule
    inside numbers measured, and draw its reliability diagram."""
    from ml import evalsets, tuning
    from ml.inference import Engine

    started = time.perf_counter()
    paths = evalsets.ensure(mnist.x_test, mnist.y_test, sets_dir, evalsets.TUNE, counts)
    paths["pages"] = evalsets.ensure_pages(mnist.x_test, mnist.y_test, sets_dir, evalsets.TUNE, pages)
    engine = Engine(artifact_dir)
    try:
        _, report = tuning.fit(engine, paths, plot=Path(artifact_dir) / "reliability.png")
    finally:
        engine.close()
    report["seconds"] = round(time.perf_counter() - started, 1)
    path = Path(artifact_dir) / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata["calibration"] = report
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    return report


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - metadata only
        return "unknown"
