"""Page mode measured on the page set (ml/pagegen.py, built by evalsets.ensure_pages).

A page is right when every line is read exactly and no line is added or lost. A line is
right when it is read exactly, in its place among the page's lines: the label's lines are
matched in order against the answer's (difflib), so a line split in two, merged with its
neighbour or missed counts as wrong, and the lines around it still count as right.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.calibration import Calibration, expected_calibration_error
from ml.decoding import ImageDecodeError
from ml.evaluate import Scored, read_labels
from ml.inference import Engine, NotADigit, answer_page


@dataclass(frozen=True)
class PageOutcome:
    label: list[str]  # the lines' digits, top to bottom
    answer: list[str]  # the lines read ([] for no digit)
    confidence: float

    @property
    def right(self) -> bool:
        return self.answer == self.label

    @property
    def lines_right(self) -> int:
        matcher = difflib.SequenceMatcher(a=self.label, b=self.answer, autojunk=False)
        return sum(block.size for block in matcher.get_matching_blocks())


def evaluate_pages(engine: Engine, folder: str | Path, calibration: Calibration | None = None,
                   batch: int = 8) -> dict:
    """Pages exact, lines exact, and the ECE of the page confidence, for a labelled folder
    of pages (labels: each line's digits, separated by spaces)."""
    calibration = calibration or engine.calibration
    made = []
    triples = read_labels(folder)
    for start in range(0, len(triples), batch):
        chunk = triples[start : start + batch]
        prepared = engine.prepare_pages([path.read_bytes() for path, _, _ in chunk])
        flat = [d.pixels for item in prepared if not isinstance(item, Exception)
                for line in item for d in line.digits]
        probs = engine.probabilities(np.stack(flat)) if flat else None
        cursor = 0
        for (_, label, _), item in zip(chunk, prepared):
            if isinstance(item, ImageDecodeError):
                raise ValueError(f"{folder}: an image cannot be read: {item}")
            if isinstance(item, Exception):
                made.append(PageOutcome(label.split(), [], 1.0))
                continue
            count = sum(len(line.digits) for line in item)
            result = answer_page(item, probs[cursor : cursor + count], calibration=calibration,
                                 model_version=engine.version)
            cursor += count
            read = [] if isinstance(result, NotADigit) else [line.text for line in result.lines]
            made.append(PageOutcome(label.split(), read, result.confidence))
    return page_figures(made)


def score_page_lines(engine: Engine, folder: str | Path, batch: int = 8) -> list[Scored]:
    """The lines of a labelled folder of pages as the engine saw them, each labelled with its
    digits; only from pages whose lines were all found (a line's place is then known)."""
    scored = []
    triples = read_labels(folder)
    for start in range(0, len(triples), batch):
        chunk = triples[start : start + batch]
        for (_, label, _), item in zip(chunk, engine.prepare_pages([path.read_bytes() for path, _, _ in chunk])):
            if isinstance(item, Exception) or len(item) != len(label.split()):
                continue
            probs = engine.probabilities(np.stack([d.pixels for line in item for d in line.digits]))
            cursor = 0
            for text, line in zip(label.split(), item):
                scored.append(Scored(text, "", line.digits, probs[cursor : cursor + len(line.digits)]))
                cursor += len(line.digits)
    return scored


def page_figures(made: list[PageOutcome]) -> dict:
    right = np.array([o.right for o in made], bool)
    lines = sum(len(o.label) for o in made)
    return {
        "count": len(made),
        "accuracy": float(right.mean()) if made else None,
        "lines": {"count": lines, "accuracy": sum(o.lines_right for o in made) / lines if lines else None},
        "line_count_right": float(np.mean([len(o.answer) == len(o.label) for o in made])) if made else None,
        "ece": expected_calibration_error(np.array([o.confidence for o in made], float), right),
    }
