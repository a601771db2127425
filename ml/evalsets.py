"""The realistic evaluation sets, each in a tuning part and a measuring part.

The two parts are built from disjoint MNIST *test* digits (tuning: indices 0-4999,
measuring: 5000-9999) with different seeds, and nothing in either comes from the training
split. Temperature and thresholds are fitted on the tuning part only; the figures in
``make evaluate`` come from the measuring part only.

Four sets per part: realistic single digits, lines of 2-6 digits, the style set and the
non-digit set. Each is a folder of images with ``labels.csv`` (file,label,kind). The page
set (``ensure_pages``) is a fifth, built and measured apart, since pages cost more.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ml import negatives, pagegen, styles, synthetic

TUNE, MEASURE = "tune", "measure"
PARTS = {TUNE: (0, 5000, 1501), MEASURE: (5000, 10000, 2503)}  # MNIST test indices [start, stop), seed
SETS = ("singles", "lines", "styles", "non_digits")
# The measuring part is smaller only to fit the CPU of one evaluation on two shared cores;
# 2,000 singles still resolve the 0.5% floors to 10 images.
COUNTS = {TUNE: {"singles": 3000, "lines": 600, "styles": 1600, "non_digits": 960},
          MEASURE: {"singles": 2000, "lines": 500, "styles": 1200, "non_digits": 800}}
MANIFEST = "manifest.json"
# The page set (ml/pagegen.py) is built and measured on its own: pages cost more to read.
PAGES = "pages"
PAGE_COUNTS = {TUNE: 300, MEASURE: 300}
PAGE_SEED_OFFSET = 17


def source_indices(part: str) -> np.ndarray:
    """The MNIST test indices a part's digits are drawn from."""
    start, stop, _ = PARTS[part]
    return np.arange(start, stop)


def make_set(name: str, x_test: np.ndarray, y_test: np.ndarray, part: str, count: int) -> list[synthetic.Sample]:
    """One set of one part, from its own digits and seed."""
    idx = source_indices(part)
    x, y = x_test[idx], y_test[idx]
    seed = PARTS[part][2] + SETS.index(name)
    if name == "singles":
        return synthetic.single_digits(x, y, count, seed=seed)
    if name == "lines":
        return synthetic.digit_lines(x, y, count, seed=seed)
    if name == "styles":
        return styles.style_digits(x, y, count, seed=seed)
    if name == "non_digits":
        return negatives.non_digits(count, seed=seed)
    raise ValueError(f"unknown set {name!r}")


def ensure(x_test: np.ndarray, y_test: np.ndarray, out_dir: str | Path, part: str,
           counts: dict[str, int] | None = None) -> dict[str, Path]:
    """The folders of ``part`` under ``out_dir/part``, built unless already there with the
    same counts and seeds (they are reproducible, so a built set is reused)."""
    counts = counts or COUNTS[part]
    folder = Path(out_dir) / part
    wanted = {"part": part, "sources": list(PARTS[part]), "counts": counts}
    manifest = folder / MANIFEST
    paths = {name: folder / name for name in counts}
    if manifest.is_file() and json.loads(manifest.read_text()) == wanted:
        return paths
    for name, count in counts.items():
        synthetic.write_folder(make_set(name, x_test, y_test, part, count), paths[name])
    manifest.write_text(json.dumps(wanted) + "\n")
    return paths


def ensure_pages(x_test: np.ndarray, y_test: np.ndarray, out_dir: str | Path, part: str,
                 count: int | None = None) -> Path:
    """The page set of ``part`` under ``out_dir/part/pages``, built unless already there."""
    count = count or PAGE_COUNTS[part]
    folder = Path(out_dir) / part / PAGES
    seed = PARTS[part][2] + PAGE_SEED_OFFSET
    wanted = {"part": part, "sources": list(PARTS[part]), "count": count, "seed": seed}
    manifest = folder / MANIFEST
    if manifest.is_file() and json.loads(manifest.read_text()) == wanted:
        return folder
    idx = source_indices(part)
    synthetic.write_folder(pagegen.digit_pages(x_test[idx], y_test[idx], count, seed=seed), folder)
    manifest.write_text(json.dumps(wanted) + "\n")
    return folder
