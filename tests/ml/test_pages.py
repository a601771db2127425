"""Page mode: lines found top to bottom, at any indent, sloped, on a turned page."""
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml import pages
from ml.ink import NoDigitFound
from ml.inference import NotADigit
from tests.images import encode, line_of, page_of

LINES = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10, 11, 12, 13, 14]]


def _page(mnist_test, **options) -> tuple[bytes, list[str]]:
    x, y = mnist_test
    picks = options.pop("picks", LINES)
    image = page_of([[x[i] for i in line] for line in picks], indents=options.pop("indents", [0, 150, 40, 90]),
                    **options)
    return encode(image), ["".join(str(y[i]) for i in line) for line in picks]


def _digit_counts(found: list[pages.PageLine]) -> list[int]:
    return [len(line.digits) for line in found]


def test_it_finds_each_line_top_to_bottom_at_its_own_indent(mnist_test):
    png, labels = _page(mnist_test)
    found = pages.find_lines(png)
    assert _digit_counts(found) == [len(label) for label in labels]
    tops = [line.box[1] for line in found]
    assert tops == sorted(tops)
    lefts = [line.box[0] for line in found]
    assert lefts[1] > lefts[3] > lefts[2] > lefts[0]  # the indents 0, 150, 40, 90


@pytest.mark.parametrize("rotation", [-5.0, 4.0])
def test_it_estimates_the_skew_of_a_turned_page(mnist_test, rotation):
    png, _ = _page(mnist_test, rotation=rotation)
    ink = pages.prepare(png, pages.PAGE_MAX_SIDE)
    # Pillow turns counter-clockwise: the lines then rise to the right.
    assert pages.estimate_skew(ink.mask) == pytest.approx(-rotation, abs=0.75)


@pytest.mark.parametrize("slopes,rotation", [([4.0, -4.0, 3.0, -3.0], 0.0), ([4.0, -2.0, -4.0, 2.0], 5.0),
                                             ([-3.0, 3.0, -4.0, 4.0], -4.0)])
def test_it_keeps_sloped_lines_apart_on_a_turned_page(mnist_test, slopes, rotation):
    png, labels = _page(mnist_test, slopes=slopes, rotation=rotation, spacing=20)
    assert _digit_counts(pages.find_lines(png)) == [len(label) for label in labels]


def test_a_line_with_a_wide_gap_and_a_raised_digit_stays_one_line(mnist_test):
    x, _ = mnist_test
    sheet = Image.new("L", (900, 300), 255)
    for k, (left, top) in enumerate([(40, 100), (120, 100), (200, 75), (600, 100), (680, 105)]):
        sheet.paste(page_of([[x[k + 1]]], indents=[0], margin=0), (left, top))
    assert _digit_counts(pages.find_lines(encode(sheet))) == [5]


def test_it_refuses_more_lines_than_the_limit(mnist_test):
    png, _ = _page(mnist_test)
    with pytest.raises(pages.TooManyLines, match="has 4 lines; at most 3"):
        pages.find_lines(png, max_lines=3)


def test_a_blank_page_has_no_digit():
    with pytest.raises(NoDigitFound):
        pages.find_lines(encode(Image.new("L", (800, 600), 255)))


def test_the_engine_reads_every_line_and_multiplies_their_confidences(engine, mnist_test):
    png, labels = _page(mnist_test, slopes=[2.0, -3.0, 0.0, 4.0], rotation=3.0)
    result = engine.recognize(png, mode="page")
    assert [line.text for line in result.lines] == labels
    assert result.text == "\n".join(labels)
    assert result.confidence == pytest.approx(np.prod([line.confidence for line in result.lines]))
    assert [d.digit for d in result.digits] == [int(c) for c in "".join(labels)]
    for line in result.lines:  # each digit's box lies inside its line's
        x, y, w, h = line.box
        for digit in line.digits:
            dx, dy, dw, dh = digit.box
            assert x <= dx and y <= dy and dx + dw <= x + w and dy + dh <= y + h


def test_a_ruled_line_of_its_own_is_left_out_of_the_page(engine, mnist_test):
    png, labels = _page(mnist_test, picks=LINES[:2], indents=[0, 60], spacing=120)
    sheet = Image.open(io.BytesIO(png)).convert("L")
    ImageDraw.Draw(sheet).line([(30, sheet.height // 2), (sheet.width - 30, sheet.height // 2)], fill=0, width=4)
    result = engine.recognize(encode(sheet), mode="page")
    assert [line.text for line in result.lines] == labels
    assert len(result.left_out) == 1 and result.left_out[0][2] > 0.8 * sheet.width - 60


def test_a_page_of_marks_only_is_not_a_digit(engine):
    sheet = Image.new("L", (600, 400), 255)
    draw = ImageDraw.Draw(sheet)
    for y in (100, 200, 300):
        draw.line([(40, y), (560, y)], fill=0, width=4)
    with pytest.raises(NotADigit):
        engine.recognize(encode(sheet), mode="page")


def test_a_large_photo_of_a_page_is_read_at_the_page_size(mnist_test):
    png, labels = _page(mnist_test, rotation=2.0)
    page = Image.open(io.BytesIO(png)).convert("RGB")
    big = page.resize((page.width * 5, page.height * 5), Image.Resampling.BICUBIC)
    ink = pages.prepare(encode(big, "JPEG", quality=85), pages.PAGE_MAX_SIDE)
    assert ink.scale == pytest.approx(pages.PAGE_MAX_SIDE / max(big.size), rel=0.01)
    found = pages.find_lines(encode(big, "JPEG", quality=85))
    assert _digit_counts(found) == [len(label) for label in labels]
    assert found[-1].box[1] + found[-1].box[3] > 0.7 * big.height  # boxes in the photo's own pixels


def _tall_page(mnist_test, lines: int) -> bytes:
    x, _ = mnist_test
    picks = [[i, i + 1] for i in range(lines)]
    return encode(page_of([[x[i] for i in line] for line in picks], indents=[(7 * i) % 60 for i in range(lines)],
                          height=40, spacing=30))


def test_a_page_of_forty_lines_is_read_line_by_line(mnist_test):
    assert _digit_counts(pages.find_lines(_tall_page(mnist_test, 40))) == [2] * 40


def test_a_page_of_more_than_forty_lines_is_refused_before_it_is_read(mnist_test):
    png = _tall_page(mnist_test, 41)
    with pytest.raises(pages.TooManyLines, match="^The page has 41 lines; at most 40 are read. Send it in parts.$"):
        pages.find_lines(png)


def _with_a_faint_digit(mnist_test, level: float) -> tuple[bytes, list[str]]:
    """A page of two lines whose second starts with a digit inked at ``level`` of the others'
    strength (a light pencil among pens): no pixel of it reaches the page's ink threshold."""
    x, y = mnist_test
    sheet = np.asarray(page_of([[x[1], x[2], x[3]], [x[5], x[6]]], indents=[0, 100]), np.float32)
    faint = 255 - (255 - np.asarray(line_of([x[4]], height=60, margin=0), np.float32)) * level
    top, left = 140, 120 - faint.shape[1]
    window = sheet[top : top + faint.shape[0], left : left + faint.shape[1]]
    np.minimum(window, faint, out=window)
    labels = ["".join(str(y[i]) for i in (1, 2, 3)), "".join(str(y[i]) for i in (4, 5, 6))]
    return encode(Image.fromarray(sheet.astype(np.uint8))), labels


def test_a_faint_digit_among_inked_ones_is_read_with_its_line(engine, mnist_test):
    png, labels = _with_a_faint_digit(mnist_test, 0.55)
    assert _digit_counts(pages.find_lines(png)) == [3, 3]
    assert [line.text for line in engine.recognize(png, mode="page").lines] == labels


def test_a_mark_too_faint_to_render_is_no_digit_of_the_page(mnist_test):
    png, _ = _with_a_faint_digit(mnist_test, 0.3)
    assert _digit_counts(pages.find_lines(png)) == [3, 2]
