"""What the model trains on besides raw MNIST, all made from the *training* split and put
through the serving preprocessing (ml/preprocessing.py), as serving will feed it.

- realistic copies: each digit drawn or photographed as a person would (ml/synthetic.py);
- served copies: each 28x28 digit re-rendered by preprocessing, the look every drawing and
  photo gets (an upload that already is a 28x28 model input is served as it is);
- style digits (ml/styles.py) and non-digits (ml/negatives.py), the latter labelled
  NOT_A_DIGIT_CLASS (outlier exposure).

Generation runs in worker processes; every chunk has its own seed, so it is repeatable,
and a finished chunk can be kept on disk for the next run.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path

import numpy as np

from ml import negatives, styles, synthetic
from ml.decoding import ImageDecodeError
from ml.ink import NoDigitFound
from ml.model import NOT_A_DIGIT_CLASS
from ml.preprocessing import rendered, to_model_input

CHUNKS = 16
MAX_CANVAS = 256  # training renders are smaller than the sets' 800 px: faster, as hard after normalising


def _input_of(image, make=to_model_input) -> np.ndarray | None:
    try:
        return make(image).pixels
    except (NoDigitFound, ImageDecodeError):
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
        pixels = _input_of(digit, rendered)
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


# More processes than the two cores: on a shared machine each process gets its share of
# the CPU; on an idle one the extra processes cost only memory.
WORKERS = 4


_SOURCE_DIGEST = hashlib.sha256(b"".join(
    (Path(__file__).parent / f"{name}.py").read_bytes()
    for name in ("decoding", "ink", "preprocessing", "segmentation", "synthetic", "styles", "negatives", "pen")
)).digest()


def _cached_path(function, args: tuple, cache_dir: Path) -> Path:
    digest = hashlib.sha256(function.__name__.encode())
    digest.update(_SOURCE_DIGEST)  # a change to how images are made or read makes new ones
    for arg in args:
        digest.update(np.ascontiguousarray(arg).tobytes() if isinstance(arg, np.ndarray) else repr(arg).encode())
    return Path(cache_dir) / f"{function.__name__}-{digest.hexdigest()[:24]}.npz"


def _job(function, args: tuple, cache_dir: Path | None):
    """``function(*args)``, kept in ``cache_dir`` under a hash of its name and arguments:
    generation is deterministic, so an interrupted run need not redo finished chunks."""
    if cache_dir is None:
        return function(*args)
    path = _cached_path(function, args, cache_dir)
    if path.is_file():
        with np.load(path) as saved:
            arrays = [saved[f"a{i}"] for i in range(len(saved.files))]
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
    result = function(*args)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    parts = result if isinstance(result, tuple) else (result,)
    # Named by process: two runs sharing a cache may make the same chunk at once.
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, **{f"a{i}": a for i, a in enumerate(parts)})
    partial.replace(path)
    return result


def generate(x: np.ndarray, y: np.ndarray, *, styled: int, non_digits: int, seed: int,
             cache_dir: Path | None = None, workers: int = WORKERS, realistic_digits: int | None = None):
    """Everything generated from training digits ``x``, ``y``: their realistic and served
    copies (each (N, 28, 28) uint8, row for row; with ``realistic_digits``, only that many
    digits get a realistic copy and the others show their served one), and ``styled``
    style digits plus ``non_digits`` non-digits as (model inputs, labels), blank renders
    dropped."""
    some = np.arange(len(x)) if realistic_digits is None else np.arange(min(realistic_digits, len(x)))
    jobs = [(_realistic, (x[idx], seed * 1000 + i)) for i, idx in enumerate(np.array_split(some, CHUNKS))]
    jobs += [(_served, (x[idx], 0)) for idx in np.array_split(np.arange(len(x)), CHUNKS)]
    parts = max(1, CHUNKS // 2)
    rng = np.random.default_rng(seed)
    # Each job draws its digits from its own sample of the split (cheaper to send than all of it).
    for i, n in enumerate(_shares(styled, parts)):
        if n:
            idx = rng.choice(len(x), size=min(len(x), 4 * n + 50), replace=False)
            jobs.append((_styled, (x[idx], y[idx], n, seed * 7919 + i)))
    jobs += [(_negative, (n, seed * 104729 + i)) for i, n in enumerate(_shares(non_digits, parts)) if n]
    if cache_dir is not None and all(_cached_path(f, args, cache_dir).is_file() for f, args in jobs):
        results = [_job(function, args, cache_dir) for function, args in jobs]  # no processes to start
    else:
        # "spawn": the caller may already run TensorFlow, whose threads do not survive a fork.
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            results = pool.starmap(_job, [(function, args, cache_dir) for function, args in jobs], chunksize=1)
    served = np.concatenate(results[CHUNKS : 2 * CHUNKS])
    realistic = served.copy()
    realistic[some] = np.concatenate(results[:CHUNKS])
    extra = results[2 * CHUNKS :]
    if not extra:
        return realistic, served, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return realistic, served, np.concatenate([e[0] for e in extra]), np.concatenate([e[1] for e in extra])


def _shares(total: int, parts: int) -> list[int]:
    return [len(a) for a in np.array_split(np.arange(total), parts)]
