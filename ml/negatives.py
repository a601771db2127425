"""Images with no digit in them, drawn and photographed like the realistic digits.

Eight kinds: scribbles and zig-zags, letters, signs, shapes, dots and dashes, faces, paper
(blank, ruled, squared) and smudges. Letters and signs leave out whatever a person could
mean as a digit: O o D Q C U (0), I l i j J T L V Y (1, 7), S s (5), Z z (2), B (8),
g q P a (9), G b e (6), H h y (4), and ? ! & $ (2, 1, 8, 5); a plain circle is a 0, so the
shapes have none. Shapes go through synthetic.render_ink and synthetic.capture, so digits
and non-digits differ in content only.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ml import pen, synthetic

KINDS = ("scribble", "letter", "sign", "shape", "dots", "face", "paper", "smudge")

_L = pen.line
_LETTERS = {
    "A": [_L((0, 1), (0.5, 0), (1, 1)), _L((0.22, 0.6), (0.78, 0.6))],
    "E": [_L((0.9, 0), (0.05, 0), (0.05, 1), (0.9, 1)), _L((0.05, 0.5), (0.7, 0.5))],
    "F": [_L((0.95, 0), (0.05, 0), (0.05, 1)), _L((0.05, 0.5), (0.7, 0.5))],
    "K": [_L((0.1, 0), (0.1, 1)), _L((0.9, 0), (0.1, 0.55), (0.9, 1))],
    "M": [_L((0.02, 1), (0.1, 0), (0.5, 0.65), (0.9, 0), (0.98, 1))],
    "N": [_L((0.05, 1), (0.05, 0), (0.95, 1), (0.95, 0))],
    "R": [np.concatenate([_L((0.1, 1), (0.1, 0), (0.55, 0)), pen.arc(0.55, 0.25, 0.35, 0.25, 270, 450, 10),
                          _L((0.1, 0.5))]), _L((0.45, 0.5), (0.95, 1))],
    "W": [_L((0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0))],
    "X": [_L((0, 0), (1, 1)), _L((1, 0), (0, 1))],
    "m": [_L((0.05, 0.35), (0.05, 1)), np.concatenate([pen.arc(0.28, 0.55, 0.23, 0.2, 180, 360, 8),
                                                        _L((0.51, 1))]),
          np.concatenate([pen.arc(0.73, 0.55, 0.22, 0.2, 180, 360, 8), _L((0.95, 1))])],
}
_LETTER_ASPECT = {"M": 1.0, "W": 1.2, "m": 1.3}


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _letter(rng):
    name = list(_LETTERS)[int(rng.integers(len(_LETTERS)))]
    return _LETTERS[name], _LETTER_ASPECT.get(name, 0.75) * _u(rng, 0.8, 1.2)


def _sign(rng):
    which = int(rng.integers(7))
    if which == 0:  # +
        return [_L((0.5, 0), (0.5, 1)), _L((0, 0.5), (1, 0.5))], _u(rng, 0.8, 1.2)
    if which == 1:  # #
        return [_L((0.35, 0), (0.25, 1)), _L((0.75, 0), (0.65, 1)), _L((0, 0.33), (1, 0.33)),
                _L((0, 0.67), (1, 0.67))], 1.0
    if which == 2:  # %
        return [_L((0.9, 0), (0.1, 1)), pen.arc(0.2, 0.15, 0.15, 0.15, 0, 360, 14),
                pen.arc(0.8, 0.85, 0.15, 0.15, 0, 360, 14)], 0.8
    if which == 3:  # =
        return [_L((0, 0), (1, 0)), _L((0, 1), (1, 1))], _u(rng, 1.5, 3.0)
    if which == 4:  # @
        return [np.concatenate([pen.arc(0.5, 0.5, 0.2, 0.22, 0, 360, 16), _L((0.7, 0.75)),
                                pen.arc(0.5, 0.5, 0.5, 0.5, 40, 330, 24)])], 1.0
    if which == 5:  # * with three or four bars
        bars = int(rng.integers(3, 5))
        angles = np.pi * (np.arange(bars) / bars + rng.uniform(0, 1))
        return [_L((0.5 - 0.5 * np.cos(a), 0.5 - 0.5 * np.sin(a)), (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a)))
                for a in angles], 1.0
    dot = pen.arc(0.5, 0.1, 0.06, 0.06, 0, 360, 8)  # ÷
    return [_L((0, 0.5), (1, 0.5)), dot, dot + [0, 0.8]], 1.0


def _shape(rng):
    which = int(rng.integers(6))
    if which == 0:  # a star's outline, or a pentagon (its five points joined in turn)
        k = np.arange(11)
        radius = np.where(k % 2 == 0, 0.5, _u(rng, 0.18, 0.25)) if rng.random() < 0.6 else None
        if radius is None:
            k = np.arange(6) * 2
            radius = np.full(6, 0.5)
        t = np.pi * k / 5 - np.pi / 2
        return [np.stack([0.5 + radius * np.cos(t), 0.5 + radius * np.sin(t)], axis=1)], 1.0
    if which == 1:  # heart
        t = np.linspace(0, 2 * np.pi, 40)
        x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [np.stack([(x + 17) / 34, (y + 17) / 29], axis=1)], 1.1
    if which == 2:  # triangle
        return [_L((0.5, 0), (1, 1), (0, 1), (0.5, 0))], _u(rng, 0.9, 1.3)
    if which == 3:  # square or rectangle
        return [_L((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))], _u(rng, 0.9, 1.6)
    if which == 4:  # spiral
        t = np.linspace(0, _u(rng, 3, 5) * np.pi, 60)
        r = 0.5 * t / t[-1]
        return [np.stack([0.5 + r * np.cos(t), 0.5 + r * np.sin(t)], axis=1)], 1.0
    # arrow, pointing sideways or aslant (an upright arrow would be a 1 with a flag)
    head = _u(rng, 0.15, 0.3)
    strokes = [_L((0, 0.5), (1, 0.5)), _L((1 - head, 0.5 - head), (1, 0.5), (1 - head, 0.5 + head))]
    if rng.random() < 0.5:
        strokes = [s * [-1, 1] + [1, 0] for s in strokes]
    return strokes, _u(rng, 1.5, 3.0)


def _scribble(rng):
    if rng.random() < 0.4:  # zig-zag: at least four turns, sideways or upright
        n = int(rng.integers(5, 11))
        xs, ys = np.linspace(0, 1, n), np.where(np.arange(n) % 2, 1.0, 0.0) + rng.normal(0, 0.05, n)
        points = np.stack([xs, ys], axis=1)
        return [points if rng.random() < 0.6 else points[:, ::-1]], _u(rng, 0.8, 2.5)
    # A scribble: a tangle of 10-30 points, smoothed, in one to three strokes.
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        points = rng.uniform(0, 1, (int(rng.integers(10, 31)), 2))
        strokes.append(ndimage.uniform_filter1d(points, 3, axis=0))
    return strokes, _u(rng, 0.7, 1.5)


def _dots(rng):
    # A dot is one touch of the pen: filled (a ring would be a 0).
    dot = lambda x, y: np.array([[x, y]])  # noqa: E731
    which = int(rng.integers(4))
    if which == 0:  # one dot
        return [dot(0.5, 0.5)], 1.0
    if which == 1:  # scattered dots
        return [dot(*rng.uniform(0.1, 0.9, 2)) for _ in range(int(rng.integers(2, 9)))], 1.0
    if which == 2:  # a dash or a few
        return [_L((x, 0.5 + rng.normal(0, 0.05)), (x + _u(rng, 0.1, 0.25), 0.5 + rng.normal(0, 0.05)))
                for x in np.linspace(0, 0.75, int(rng.integers(1, 5)))], _u(rng, 1.5, 5.0)
    marks = [dot(x, 0.5) if rng.random() < 0.5 else _L((x - 0.06, 0.5), (x + 0.06, 0.5))
             for x in np.linspace(0.05, 0.95, int(rng.integers(3, 8)))]
    return marks, _u(rng, 3.0, 6.0)


def _face(rng):
    eyes = [pen.arc(x, _u(rng, 0.3, 0.4), 0.05, 0.05, 0, 360, 8) for x in (0.33, 0.67)]
    smile = rng.random() < 0.7
    mouth = pen.arc(0.5, 0.55 if smile else 0.85, 0.25, 0.18, 20 if smile else 200, 160 if smile else 340, 12)
    strokes = [*eyes, mouth]
    if rng.random() < 0.8:  # the outline of the head
        strokes.append(pen.arc(0.5, 0.5, 0.5, 0.5, 0, 360, 32))
    return strokes, _u(rng, 0.85, 1.15)


def _paper(rng, height: int, width: int) -> np.ndarray:
    """Blank, ruled or squared paper: faint lines across the whole sheet."""
    alpha = np.zeros((height, width), np.float32)
    which = int(rng.integers(3))
    if which == 0:
        return alpha
    step, strength = int(rng.integers(12, 40)), _u(rng, 0.15, 0.5)
    alpha[int(rng.integers(step)) :: step] = strength
    if which == 2:
        alpha[:, int(rng.integers(step)) :: step] = strength
    elif rng.random() < 0.5:  # the margin line of an exercise book
        alpha[:, int(width * _u(rng, 0.05, 0.2))] = strength
    return ndimage.gaussian_filter(alpha, _u(rng, 0.3, 1.0))


def _smudge(rng) -> np.ndarray:
    """A stain or a smear: soft irregular blobs, not strokes."""
    side = 96
    alpha = np.zeros((side, side), np.float32)
    yy, xx = np.mgrid[:side, :side]
    for _ in range(int(rng.integers(1, 5))):
        cy, cx = rng.uniform(25, 71, 2)
        # Roundish: a long thin smear would be a marker's 1.
        ry = _u(rng, 8, 25)
        rx = ry * _u(rng, 0.7, 1.6)
        alpha = np.maximum(alpha, (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1) * _u(rng, 0.25, 0.8))
    return ndimage.gaussian_filter(alpha, _u(rng, 3.0, 8.0)).astype(np.float32)


def non_digit_image(kind: str, rng: np.random.Generator, max_canvas: int = 800) -> tuple[bytes, str]:
    """One image of ``kind`` (see KINDS), drawn or photographed; returns (bytes, extension)."""
    if kind == "paper":
        height, width = (int(v) for v in rng.integers(64, max_canvas, 2))
        return synthetic.capture(_paper(rng, height, width), rng)
    if kind == "smudge":
        return synthetic.render_ink(_smudge(rng), rng, max_canvas)
    make = {"scribble": _scribble, "letter": _letter, "sign": _sign, "shape": _shape, "dots": _dots,
            "face": _face}[kind]
    strokes, aspect = make(rng)
    # A scribble's strokes are dense: a wide pen would fill it in; a dot is as big as its pen.
    width = {"scribble": (0.015, 0.05), "dots": (0.05, 0.16)}.get(kind, (0.04, 0.13))
    ink = pen.draw(strokes, rng, aspect=aspect, width=_u(rng, *width), jitter=0.012)
    return synthetic.render_ink(ink, rng, max_canvas)


def non_digits(count: int, seed: int, kinds: tuple[str, ...] = KINDS, max_canvas: int = 800) -> list[synthetic.Sample]:
    """``count`` non-digit images, the kinds in turn, labelled NOT_A_DIGIT."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        data, extension = non_digit_image(kind, rng, max_canvas)
        samples.append(synthetic.Sample(data, synthetic.NOT_A_DIGIT, extension, kind))
    return samples
