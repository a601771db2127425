"""Fuzzing the image path: whatever bytes arrive, the answer is a digit, "no digit found"
or a clear "not an image" error, never a crash. Hypothesis runs the number of examples
set below on every test run (see docs/RELIABILITY.md)."""
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ml.decoding import ALLOWED_FORMATS, ImageDecodeError, check_image
from ml.ink import NoDigitFound
from ml.preprocessing import to_model_input
from ml.segmentation import segment_digits

EXAMPLES = 300


def _seed_images() -> list[bytes]:
    rng = np.random.default_rng(0)
    sheet = np.full((60, 90), 230, np.uint8)
    sheet[20:40, 30:34] = 20
    out = []
    for fmt, mode in (("PNG", "L"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("WEBP", "RGB")):
        buffer = io.BytesIO()
        Image.fromarray(sheet).convert(mode).save(buffer, fmt)
        out.append(buffer.getvalue())
    noise = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(noise, "PNG")
    return out + [noise.getvalue()]


SEEDS = _seed_images()


def _answer_or_clear_refusal(payload: bytes) -> None:
    try:  # the check uploads pass
        assert check_image(payload) in ALLOWED_FORMATS
    except ImageDecodeError as exc:
        assert str(exc)
    for read in (to_model_input, segment_digits):
        try:
            result = read(payload)
        except (ImageDecodeError, NoDigitFound) as exc:
            assert str(exc)
        else:
            digits = result if isinstance(result, list) else [result]
            assert all(d.pixels.shape == (28, 28) and d.pixels.dtype == np.uint8 for d in digits)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash_the_image_path(payload):
    _answer_or_clear_refusal(payload)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.one_of(st.none(), st.integers(0, 10_000)))
def test_damaged_real_images_never_crash_the_image_path(seed, flips, cut):
    payload = bytearray(seed)
    for position, value in flips:
        payload[position % len(payload)] = value
    _answer_or_clear_refusal(bytes(payload[:cut] if cut is not None else payload))
