"""What the model trains on besides raw MNIST, all made from the *training* split and put
through the serving preprocessing (ml/preprocessing.py), as serving will feed it.

- realistic copies: each digit drawn or photographed as a person would (ml/synthetic.py);
- served copies: each 28x28 digit as an upload of itself, re-normalised by preprocessing;
- style digits (ml/styles.py) and non-digits (ml/negatives.py), the latter labelled
  NOT_A_DIGIT_CLASS (outlier exposure).

Generation runs in worker processes; every chunk has its own seed, so it is repeatable.
"""
from __future__ import annotations

import multiprocessing

import numpy as np

from ml import negatives, preprocessing, styles, synthetic
from ml.model import NOT_A_DIGIT_CLASS

CHUNKS = 16
MAX_CANVAS = 256  # training renders are smaller than the sets' 800 px: faster, as hard after normalising


def _input_of(image) -> np.ndarray | None:
    try:
        return preprocessing.to_model_input(image).pixels
    except (preprocessing.NoDigitFound, preprocessing.ImageDecodeError):
        return None  # blank: preprocessing answers it before the model is asked


def _realistic(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for i, digit in enumerate(x):
        pixels = _input_of(synthetic.render_single(digit, rng, max_canvas=MAX_CANVAS)[0])
        out[i] = digit if pixels is None else pixels
    return out


def _served(x: np.ndarray, seed: int) -> np.ndarray:
    out = np.empty_like(x)
    for i, digit in enumerate(x):
        pixels = _input_of(digit)
        out[i] = digit if pixels is None else pixels
    return out


def _styled(x: np.ndarray, y: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    made = [(_input_of(s.data), int(s.label))
            for s in styles.style_digits(x, y, count, seed, max_canvas=MAX_CANVAS)]
    made = [(p, label) for p, label in made if p is not None]
    return np.stack([p for p, _ in made]), np.array([label for _, label in made], np.int64)


def _negative(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    made = [_input_of(s.data) for s in negatives.non_digits(count, seed, max_canvas=MAX_CANVAS)]
    made = [p for p in made if p is not None]
    pixels = np.stack(made) if made else np.zeros((0, 28, 28), np.uint8)
    return pixels, np.full(len(pixels), NOT_A_DIGIT_CLASS, np.int64)


def _pool(workers: int):
    # "spawn": the caller may already run TensorFlow, whose threads do not survive a fork.
    return multiprocessing.get_context("spawn").Pool(workers)


def per_digit_copies(x: np.ndarray, *, seed: int, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(realistic copies, served copies) of training digits ``x``, each (N, 28, 28) uint8."""
    chunks = np.array_split(np.arange(len(x)), CHUNKS)
    with _pool(workers) as pool:
        realistic = pool.starmap(_realistic, [(x[idx], seed * 1000 + i) for i, idx in enumerate(chunks)])
        served = pool.starmap(_served, [(x[idx], 0) for idx in chunks])
    return np.concatenate(realistic), np.concatenate(served)


def extra_examples(x: np.ndarray, y: np.ndarray, *, styled: int, non_digits: int, seed: int,
                   workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``styled`` style digits drawn from training digits ``x``, ``y`` and ``non_digits``
    non-digit images, as model inputs with their labels (blank renders are dropped)."""
    parts = max(1, CHUNKS // 2)
    rng = np.random.default_rng(seed)
    # Each job draws its digits from its own sample of the split (cheaper to send than all of it).
    samples = [rng.choice(len(x), size=min(len(x), 4 * n + 50), replace=False) for n in _shares(styled, parts)]
    jobs_s = [(x[idx], y[idx], n, seed * 7919 + i)
              for i, (idx, n) in enumerate(zip(samples, _shares(styled, parts))) if n]
    jobs_n = [(n, seed * 104729 + i) for i, n in enumerate(_shares(non_digits, parts)) if n]
    with _pool(workers) as pool:
        made = pool.starmap(_styled, jobs_s) + pool.starmap(_negative, jobs_n)
    if not made:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.concatenate([m[0] for m in made]), np.concatenate([m[1] for m in made])


def _shares(total: int, parts: int) -> list[int]:
    return [len(a) for a in np.array_split(np.arange(total), parts)]
