"""Canvas drawings for the load tests: what the draw page sends, built from MNIST test digits."""
from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ml import data
from ml.synthetic import crop_ink

CANVAS = 280


def _drawings(count: int = 32) -> list[str]:
    """Canvas-like PNG data URLs (dark strokes on a transparent 280x280 canvas) of MNIST
    test digits, drawn off-centre and at varied sizes as people draw them."""
    mnist = data.load(data_dir())
    rng = np.random.default_rng(0)
    urls = []
    for index in rng.choice(len(mnist.x_test), size=count, replace=False):
        crop = Image.fromarray(crop_ink(mnist.x_test[index]))
        height = int(rng.integers(90, 220))
        width = max(1, round(crop.width * height / crop.height))
        alpha = crop.resize((width, height), Image.Resampling.BICUBIC)
        canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
        ink = Image.new("RGBA", alpha.size, (20, 20, 20, 255))
        ink.putalpha(alpha)
        canvas.alpha_composite(ink, (int(rng.integers(0, CANVAS - width + 1)),
                                     int(rng.integers(0, CANVAS - height + 1))))
        buffer = io.BytesIO()
        canvas.save(buffer, "PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return urls


def data_dir() -> Path:
    return Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parent.parent / "var" / "mnist"))


DRAWINGS = _drawings()
