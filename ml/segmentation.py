"""A line of handwritten digits into single digits, each rendered as ml/preprocessing.py does."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ml.ink import MIN_INK_PIXELS, Ink, mask_labels
from ml.preprocessing import Digit, digit_from, prepare

@dataclass
class _Group:
    labels: list[int]
    left: int
    right: int  # exclusive
    top: int
    bottom: int  # exclusive
    area: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)
        self.area += other.area


def _x_overlap(a: _Group, b: _Group) -> int:
    return max(0, min(a.right, b.right) - max(a.left, b.left))


def _merge_fragments(groups: list[_Group], line_height: float) -> list[_Group]:
    """Join the pieces of a broken stroke (the bar of a 5, the top of a 7) to their digit.

    A piece is a fragment when it is much shorter than the line; it joins the digit it
    overlaps most horizontally. Full-height neighbours that merely touch in x stay apart.
    """
    changed = True
    while changed and len(groups) > 1:
        changed = False
        for fragment in sorted(groups, key=lambda g: g.area):
            if fragment.height >= 0.6 * line_height:
                continue
            others = [g for g in groups if g is not fragment]
            best = max(others, key=lambda g: (_x_overlap(fragment, g), -abs(
                (g.left + g.right) - (fragment.left + fragment.right))))
            overlap = _x_overlap(fragment, best)
            gap = max(best.left - fragment.right, fragment.left - best.right, 0)
            if overlap >= 0.4 * fragment.width or (overlap == 0 and gap < 0.1 * line_height
                                                     and fragment.area < 0.25 * best.area):
                best.absorb(fragment)
                groups.remove(fragment)
                changed = True
                break
    return groups


def _split_points(profile: np.ndarray, pieces: int) -> list[int]:
    """Columns at which to cut touching digits: the thinnest ink near each even share.

    A cut is made only where the ink really narrows (a valley in the column profile);
    a wide 0 or 2 has no such valley and stays whole.
    """
    width = len(profile)
    typical = float(np.median(profile[profile > 0])) if (profile > 0).any() else 0.0
    cuts = []
    for k in range(1, pieces):
        ideal = k * width / pieces
        window = max(1, int(0.3 * width / pieces))
        lo, hi = max(1, int(ideal - window)), min(width - 1, int(ideal + window) + 1)
        best = lo + int(np.argmin(profile[lo:hi]))
        if profile[best] <= 0.5 * typical:
            cuts.append(best)
    return cuts


# A digit much fainter than the others (a blurred or light one among inked ones, a line
# fading to one side) has no pixel above the ink threshold, and the ink finder drops it
# with the specks. Such a piece is a digit when it is digit-tall and its peak reaches this
# share of the threshold (enough to render: digits are rendered at 0.65 of it).
FAINT_DIGIT_PEAK = 0.8


def with_faint_digits(ink: Ink, height: float) -> Ink:
    """The ink with the pieces that are faint digits kept too (see FAINT_DIGIT_PEAK):
    ``height`` is a digit's, as the kept ink shows it."""
    if ink.labels is None:
        return ink
    faint = [index for index, region in enumerate(ndimage.find_objects(ink.labels), start=1)
             if region is not None and not ink.kept[index] and region[0].stop - region[0].start >= 0.5 * height]
    if not faint:
        return ink
    peaks = ndimage.maximum(ink.soft, ink.labels, faint)
    faint = [index for index, peak in zip(faint, peaks) if peak >= FAINT_DIGIT_PEAK * ink.threshold]
    if not faint:
        return ink
    kept = ink.kept.copy()
    kept[faint] = True
    return replace(ink, mask=kept[ink.labels], kept=kept)


Scorer = Callable[[np.ndarray], np.ndarray]
"""Confidence of a classifier for each of (N, 28, 28) digits: lets segmentation check
its doubtful cuts and joins by how much more a reader believes the result."""

# A doubtful join or split must make the reader this much surer to be taken.
SCORE_MARGIN = 0.1


def _bounds(member: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(member.any(axis=0))
    return int(cols[0]), int(cols[-1]) + 1


def _rows(member: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(member.any(axis=1))
    return int(rows[0]), int(rows[-1]) + 1


def segment_digits(image: bytes | np.ndarray, *, max_digits: int = 32,
                   scorer: Scorer | None = None) -> list[Digit]:
    """A line of handwritten digits, left to right, each normalised as MNIST was.

    Connected components are the digits; fragments of a broken stroke are merged back,
    and a component much wider than a digit is split where its ink is thinnest. With a
    ``scorer``, a split is kept only if its pieces read more surely than the whole, and
    neighbours close enough to be one broken digit are joined if they read more surely
    as one. Raises NoDigitFound when there is no ink.
    """
    return segment_ink(prepare(image), max_digits=max_digits, scorer=scorer)


def segment_ink(ink: Ink, *, max_digits: int = 32, scorer: Scorer | None = None,
                faint_digits: bool = True) -> list[Digit]:
    """segment_digits on ink already found (ml.preprocessing.prepare). ``faint_digits``:
    keep the faint digits the ink finder dropped (see with_faint_digits); a caller that
    did so already, on more ink than the line's, says False."""
    labels, groups, line_height = _pieces(ink)
    fuller = with_faint_digits(ink, line_height) if faint_digits else ink
    if fuller is not ink:
        ink = fuller
        labels, groups, _ = _pieces(ink)
    groups = _merge_fragments(groups, line_height)

    def confidence(members: list[np.ndarray]) -> np.ndarray:
        return scorer(np.stack([digit_from(ink, m).pixels for m in members]))

    members: list[np.ndarray] = []
    for group in sorted(groups, key=lambda g: g.left):
        member = np.isin(labels, group.labels)
        parts = _split(member, group, line_height, max_digits)
        if len(parts) > 1 and scorer is not None:
            whole, pieces = confidence([member])[0], confidence(parts)
            if np.prod(pieces) < whole + SCORE_MARGIN:
                parts = [member]
        members.extend(parts)
    if scorer is not None:
        members = _join_broken(members, line_height, confidence)
    members.sort(key=lambda m: _bounds(m)[0])
    return [digit_from(ink, member) for member in members[:max_digits]]


def _pieces(ink: Ink) -> tuple[np.ndarray, list[_Group], float]:
    """The labels of the ink's pieces, a group for each, and the line's height: the median
    height of its tall pieces."""
    labels, _ = mask_labels(ink)
    groups = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        area = int((labels[region] == index).sum())
        groups.append(_Group([index], region[1].start, region[1].stop, region[0].start,
                             region[0].stop, area))
    heights = sorted(g.height for g in groups)
    tall = [h for h in heights if h >= 0.5 * heights[-1]]
    return labels, groups, float(np.median(tall))


def _split(member: np.ndarray, group: _Group, line_height: float, max_digits: int) -> list[np.ndarray]:
    # Digits are seldom much wider than tall; a blob far wider may be touching digits.
    if group.width <= 1.3 * line_height:
        return [member]
    pieces = max(2, min(int(round(group.width / (0.75 * line_height))), max_digits))
    region = member[:, group.left : group.right]
    cuts = [0, *_split_points(region.sum(axis=0), pieces), group.width]
    parts = []
    for start, stop in zip(cuts, cuts[1:]):
        part = np.zeros_like(member)
        part[:, group.left + start : group.left + stop] = region[:, start:stop]
        if part.sum() >= MIN_INK_PIXELS:
            parts.append(part)
    return parts or [member]


def _join_broken(members: list[np.ndarray], line_height: float, confidence) -> list[np.ndarray]:
    """Join neighbours that read better as one digit (a 4 or a 9 whose stroke broke)."""
    members = sorted(members, key=lambda m: _bounds(m)[0])
    while len(members) > 1:
        pairs = []
        for i in range(len(members) - 1):
            (left_a, right_a), (left_b, right_b) = _bounds(members[i]), _bounds(members[i + 1])
            close = left_b - right_a < 0.25 * line_height
            (top_a, bottom_a), (top_b, bottom_b) = _rows(members[i]), _rows(members[i + 1])
            # As wide as a digit of their joint height (a digit in two tall pieces on a line
            # of its own sets the line's height itself); a short piece beside a digit (the
            # bar of a 5 drawn off to the right) may make it wider than most.
            height = max(line_height, max(bottom_a, bottom_b) - min(top_a, top_b))
            short = min(bottom_a - top_a, bottom_b - top_b) < 0.6 * line_height
            digit_sized = max(right_a, right_b) - min(left_a, left_b) <= (1.4 if short else 1.1) * height
            if close and digit_sized:
                pairs.append(i)
        if not pairs:
            break
        singles = confidence(members)
        joined = confidence([members[i] | members[i + 1] for i in pairs])
        gains = [joined[k] - singles[i] * singles[i + 1] for k, i in enumerate(pairs)]
        best = int(np.argmax(gains))
        if gains[best] < SCORE_MARGIN:
            break
        i = pairs[best]
        members[i : i + 2] = [members[i] | members[i + 1]]
    return members
