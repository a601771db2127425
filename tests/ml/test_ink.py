import numpy as np
from PIL import Image, ImageDraw

from ml import ink
from ml.decoding import ImageDecodeError
from ml.ink import NoDigitFound
from ml.preprocessing import to_model_input
from tests.images import encode


def _random_canvases(count: int, seed: int = 0):
    """Canvas-like PNGs: strokes of random colour, width and place, on a transparent, white
    or black sheet, some anti-aliased (semi-transparent edges) and some multi-stroke."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        size = tuple(int(v) for v in rng.integers(120, 700, 2))
        sheet = [(0, 0, 0, 0), (255, 255, 255, 255), (0, 0, 0, 255)][rng.integers(3)]
        colour = ((255, 255, 255, 255) if sheet == (0, 0, 0, 255)
                  else tuple(int(v) for v in rng.integers(0, 90, 3)) + (255,))
        scale = 4 if rng.random() < 0.5 else 1  # drawn large and reduced: soft, semi-transparent edges
        image = Image.new("RGBA", (size[0] * scale, size[1] * scale), sheet)
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, 4))):
            points = [tuple(int(v) for v in rng.integers(0, min(size) * scale, 2)) for _ in range(3)]
            draw.line(points, fill=colour, width=int(rng.integers(2, 30)) * scale, joint="curve")
        if scale > 1:
            image = image.resize(size, Image.LANCZOS)
        yield encode(image)


def test_the_fast_path_for_bare_canvases_matches_the_full_computation(monkeypatch):
    canvases = list(_random_canvases(150))
    window = ink._find_ink_in_window
    taken = []
    monkeypatch.setattr(ink, "_find_ink_in_window", lambda *args: taken.append(window(*args)) or taken[-1])
    fast = [_outcome(to_model_input, png) for png in canvases]
    assert sum(found is not None for found in taken) > 100  # the fast path answered most of them
    monkeypatch.setattr(ink, "_find_ink_in_window", lambda *args: None)  # always the full path
    full = [_outcome(to_model_input, png) for png in canvases]
    assert fast == full
    assert sum(isinstance(o, tuple) for o in fast) > 100  # mostly real digits, not all "no digit"


def _outcome(function, png: bytes):
    try:
        digit = function(png)
    except (NoDigitFound, ImageDecodeError) as exc:
        return type(exc).__name__
    return digit.pixels.tobytes(), tuple(digit.box)
