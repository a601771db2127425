"""A page of several lines of handwritten digits into its lines, top to bottom.

The page's ink is found once, at a larger working size than a line's (PAGE_MAX_SIDE), and
its pieces (connected components) are grouped into lines: the page's skew is estimated by
maximising the variance of the ink's horizontal projection over small angles, and in the
deskewed frame each digit-sized piece, taken left to right, joins the line whose course
(its nearest centres, carried on by its own slope or level) passes closest to it. Lines may so start at any
indent and slope a little on their own. Small pieces (the bar of a 5, a dot) then join the
nearest line. Each line is cut into digits by ml/segmentation.py, as in number mode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ml.ink import Ink, NoDigitFound, mask_labels
from ml.preprocessing import Digit, prepare
from ml.segmentation import Scorer, segment_ink, with_faint_digits

# A page is analysed at this size at most: 40 lines still leave digits about 20 px tall.
PAGE_MAX_SIDE = 1280
# More lines than this on one page is refused (TooManyLines): the answer would be slow
# and its confidence, a product over every line, near nothing.
MAX_LINES = 40
# The page's skew is searched over these angles (degrees): a page photographed a few
# degrees off, plus the slope of the lines themselves.
SKEW_ANGLES = np.arange(-8.0, 8.01, 0.25)
# How far (in digit heights) a piece may lie from a line's course and still join it.
JOIN_TOLERANCE = 0.6
# Two parts of a line side by side join when each is this near (in digit heights) to
# where the other's course leads: looser than JOIN_TOLERANCE, since lines above and below
# are not side by side with it.
JOIN_PARTS = 0.9
# A line's own slope, relative to the page's, is taken as at most this (a line of a few
# digits fits a slope poorly).
MAX_LINE_SLOPE = math.tan(math.radians(6.0))
# Skew estimation samples at most this many ink pixels: plenty for the projection.
SKEW_SAMPLE = 20000


class TooManyLines(ValueError):
    """The page has more lines than MAX_LINES; the message is fit to show a person."""

    def __init__(self, count: int, most: int = MAX_LINES):
        super().__init__(f"The page has {count} lines; at most {most} are read. Send it in parts.")
        self.count = count


@dataclass(frozen=True)
class PageLine:
    """One line of a page: its digits, left to right, and its box in the original image."""

    digits: list[Digit]
    box: tuple[int, int, int, int]  # x, y, width, height


@dataclass
class _Piece:
    label: int  # in mask_labels' numbering
    top: int
    bottom: int
    left: int
    right: int
    x: float  # centre, in the deskewed frame
    y: float

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass
class _Line:
    pieces: list[_Piece] = field(default_factory=list)

    def course(self, x: float, height: float, sloped: bool = True) -> float:
        """Where the line is expected at ``x``: its nearest few centres, carried on by its
        slope; across a wide gap no further than a few digits (a slope fitted to a few
        jittery digits is rough)."""
        near = sorted(self.pieces, key=lambda p: abs(p.x - x))[:3]
        cx = float(np.mean([p.x for p in near]))
        cy = float(np.mean([p.y for p in near]))
        reach = float(np.clip(x - cx, -3 * height, 3 * height))
        return cy + (self.slope(height) * reach if sloped else 0.0)

    @property
    def left(self) -> int:
        return min(p.left for p in self.pieces)

    @property
    def right(self) -> int:
        return max(p.right for p in self.pieces)

    def slope(self, height: float) -> float:
        xs = np.array([p.x for p in self.pieces])
        if len(xs) < 3 or np.ptp(xs) < 2 * height:
            return 0.0  # too short to tell its slope from its digits' jitter
        ys = np.array([p.y for p in self.pieces])
        slope = float(np.polyfit(xs, ys, 1)[0])
        return float(np.clip(slope, -MAX_LINE_SLOPE, MAX_LINE_SLOPE))

    @property
    def y(self) -> float:
        return float(np.mean([p.y for p in self.pieces]))


def estimate_skew(mask: np.ndarray) -> float:
    """The angle (degrees, positive when the lines fall to the right) at which the rows of
    ink line up best: the one whose horizontal projection has the largest variance."""
    ys, xs = np.nonzero(mask)
    if ys.size > SKEW_SAMPLE:
        step = ys.size // SKEW_SAMPLE + 1
        ys, xs = ys[::step], xs[::step]
    if ys.size == 0:
        return 0.0
    ys, xs = ys.astype(np.float64), xs.astype(np.float64) - xs.mean()
    best, best_angle = -1.0, 0.0
    for angle in SKEW_ANGLES:
        # The row each pixel falls on once the page is turned back by ``angle``.
        rows = np.round(ys - xs * math.tan(math.radians(angle))).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        score = float(np.dot(counts, counts))  # the variance, up to terms alike for every angle
        if score > best:
            best, best_angle = score, float(angle)
    return best_angle


def _pieces(ink: Ink, skew: float) -> list[_Piece]:
    labels, count = mask_labels(ink)
    tangent = math.tan(math.radians(skew))
    width = labels.shape[1]
    pieces = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        top, bottom, left, right = region[0].start, region[0].stop, region[1].start, region[1].stop
        cx, cy = (left + right) / 2, (top + bottom) / 2
        pieces.append(_Piece(index, top, bottom, left, right, cx, cy - (cx - width / 2) * tangent))
    return pieces


def _typical_height(pieces: list[_Piece]) -> float:
    """A digit's height on this page: the median of the pieces at least half as tall as
    the tallest common ones (a ruled line, a dot or a stroke's fragment is not a digit)."""
    heights = np.array([p.height for p in pieces], float)
    tall = np.percentile(heights, 90)
    return float(np.median(heights[heights >= 0.5 * tall]))


def _group(pieces: list[_Piece], height: float) -> list[_Line]:
    # Digit-sized pieces make the lines; a line's course is followed from left to right.
    anchors = sorted((p for p in pieces if p.height >= 0.5 * height), key=lambda p: (p.left, p.y))
    small = [p for p in pieces if p.height < 0.5 * height]
    lines: list[_Line] = []
    for piece in anchors:  # (sorted by left edge, so a line's pieces stay in x order)
        best, distance = None, JOIN_TOLERANCE * height
        for line in lines:
            gap = _off(line, piece, height)
            if gap < distance:
                best, distance = line, gap
        if best is None:
            best = _Line()
            lines.append(best)
        best.pieces.append(piece)
    lines = _join_parts(lines, height)
    for piece in small:
        nearest = min(lines, key=lambda line: _off(line, piece, height), default=None)
        if nearest is None or _off(nearest, piece, height) > height:
            nearest = _Line()  # a mark on its own, between or beside the lines
            lines.append(nearest)
        nearest.pieces.append(piece)
    return sorted(lines, key=lambda line: line.y)


def _join_parts(lines: list[_Line], height: float) -> list[_Line]:
    """Join a line to the one that carries it on to the right: a digit written well above
    or below its neighbours can start a line of its own, side by side with the rest of its
    line; each must then be where the other's course leads."""
    joined = True
    while joined:
        joined = False
        for a in lines:
            for b in lines:
                if a is b or b.left < a.right - 0.2 * height:
                    continue
                first, last = min(b.pieces, key=lambda p: p.x), max(a.pieces, key=lambda p: p.x)
                if (_off(a, first, height) < JOIN_PARTS * height
                        and _off(b, last, height) < JOIN_PARTS * height):
                    a.pieces = sorted(a.pieces + b.pieces, key=lambda p: p.x)
                    lines.remove(b)
                    joined = True
                    break
            if joined:
                break
    return lines


def _off(line: _Line, piece: _Piece, height: float) -> float:
    """How far ``piece`` lies from the line's course, sloped or level, whichever is nearer."""
    return min(abs(piece.y - line.course(piece.x, height, sloped)) for sloped in (True, False))


def _line_ink(ink: Ink, line: _Line) -> tuple[Ink, tuple[int, int, int, int]]:
    """The page's ink cut down to one line's pieces: a window of it, in which only they are
    ink (a neighbour's strokes reaching into the window are not); and the line's box."""
    top = min(p.top for p in line.pieces)
    bottom = max(p.bottom for p in line.pieces)
    left = min(p.left for p in line.pieces)
    right = max(p.right for p in line.pieces)
    # mask_labels numbers the kept pieces 1, 2, ... in order; back to the ink's own labels.
    original = np.flatnonzero(ink.kept)[[p.label - 1 for p in line.pieces]]
    kept = np.zeros_like(ink.kept)
    kept[original] = True
    window = (slice(top, bottom), slice(left, right))
    row, column = ink.offset
    line_ink = Ink(soft=ink.soft[window], mask=kept[ink.labels[window]], threshold=ink.threshold,
                   scale=ink.scale, offset=(row + top, column + left), labels=ink.labels[window], kept=kept)
    box = tuple(int(round(v / ink.scale)) for v in (left + column, top + row, right - left, bottom - top))
    return line_ink, box


def find_lines(image: bytes | np.ndarray, *, scorer: Scorer | None = None,
               max_lines: int | None = None) -> list[PageLine]:
    """The lines of digits on a page, top to bottom, each cut into digits as in number mode.

    Raises NoDigitFound for a blank page (ml.ink), ImageDecodeError for bad bytes, and
    TooManyLines past ``max_lines`` (default MAX_LINES).
    """
    return lines_of(prepare(image, PAGE_MAX_SIDE), scorer=scorer, max_lines=max_lines)


def lines_of(ink: Ink, *, scorer: Scorer | None = None, max_lines: int | None = None) -> list[PageLine]:
    """find_lines on ink already found."""
    max_lines = MAX_LINES if max_lines is None else max_lines
    skew = estimate_skew(ink.mask)
    pieces = _pieces(ink, skew)
    height = _typical_height(pieces)
    fuller = with_faint_digits(ink, height)
    if fuller is not ink:
        ink, pieces = fuller, _pieces(fuller, skew)
    lines = _group(pieces, height)
    if len(lines) > max_lines:
        raise TooManyLines(len(lines), max_lines)
    found = []
    for line in lines:
        line_ink, box = _line_ink(ink, line)
        try:
            # Faint digits were kept above, by the page's digit height; in a line's window
            # the pieces of its neighbours are dropped ink that must stay out.
            found.append(PageLine(segment_ink(line_ink, scorer=scorer, faint_digits=False), box))
        except NoDigitFound:  # a speck too faint to render: no line
            continue
    if not found:
        raise NoDigitFound("no digit found")
    return found
