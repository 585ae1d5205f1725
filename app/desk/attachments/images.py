"""A page from the document camera, a scanner or a file made a legible, compact document image (Pillow only).

:func:`normalise_page`: decode (JPEG, PNG, BMP, TIFF), turn upright by the EXIF orientation, cut a page out of a
uniform background around it (only when the border is plainly uniform and the page plainly stands out: else the
picture is left as it is), grayscale unless colour is asked for, at most :data:`MAX_LONG_SIDE` pixels on the long
side (an A4 page at about 170 dpi), and JPEG at the highest quality that fits :data:`TARGET_BYTES`. Nothing of the
original's metadata is kept (no EXIF, no GPS, no camera, no ICC profile).

Deskew (:func:`skew_angle`) is a projection-profile search: the page's dark pixels (Otsu's threshold) turned by
each angle within ±5°, the angle whose row profile is sharpest (text lines, ruled boxes and the page's edges line
up) wins. It turns the page only when that is unmistakable: enough ink but not a photo's worth, the winner at
least 0.3° and clearly sharper than the page as it is, and not at the end of the range searched; else the page
stays as it was taken.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from app.core.errors import UserError

FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "TIFF"})
MAX_LONG_SIDE = 2000  # A4's long side (11.7 in) at ~170 dpi
MIN_LONG_SIDE = 1200  # below this a page of small print is no longer legible: stop shrinking there
TARGET_BYTES = 500 * 1024
QUALITIES = (85, 78, 70, 62, 55, 48, 40)
A4_LONG_INCHES = 297 / 25.4
ORIENTATION = 0x0112  # the EXIF tag

# Auto-crop: measured on a small copy of the picture.
_PROBE_SIDE = 400
_BORDER_UNIFORM_STDDEV = 18.0  # the outer ring of the picture must be this even (a table, a scanner lid)
_DIFFERS = 48  # a pixel this far from the border's grey belongs to the page
_LINE_SHARE = 0.15  # a row/column is part of the page when this share of its pixels differs from the border
_MARGIN = 0.006  # kept around the page found, of the picture's size (the probe's pixel is ~0.25 %)
_PAGE_SOLID = 0.6  # the page found is one sheet: most of the box differs from the border (not print on paper)
_MIN_PAGE_SHARE = 0.12  # a "page" smaller than this share of the picture is more likely a shadow: no crop


class ImageRefused(UserError):
    """A file that cannot be made a document image; Chinese message."""


def normalise_page(data: bytes, *, color: bool = False) -> bytes:
    """``data`` (an image file's bytes) as a document JPEG ≤ ~500 KB; :class:`ImageRefused` if it is not one."""
    img = _decode(data)
    img = _upright(img)
    img = _flatten(img)
    img = straighten(img)
    img = img.convert("RGB") if color else img.convert("L")
    return _encode(img)


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise ImageRefused("文件为空（0 字节），不是图片。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in FORMATS:
                raise ImageRefused(f"不支持的图片格式（{img.format}），请使用 JPEG、PNG、BMP 或 TIFF 图片。")
            if img.format in ("JPEG", "MPO") and max(img.size) > 4 * MAX_LONG_SIDE:
                # A huge photo decoded at 1/2, 1/4 … directly, still twice the size kept (room for the crop).
                scale = 2 * MAX_LONG_SIDE / max(img.size)
                img.draft("RGB", (round(img.width * scale), round(img.height * scale)))
            img.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        limit = (Image.MAX_IMAGE_PIXELS or 0) // 10_000
        raise ImageRefused(f"图片像素过多（超过 {limit} 万像素，或是损坏的文件），未添加。"
                           "请用较低的分辨率重新拍摄或扫描。") from None
    except UnidentifiedImageError:
        raise ImageRefused("该文件不是可识别的图片（支持 JPEG、PNG、BMP、TIFF）。") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused("图片文件不完整或已损坏，无法读取。") from None
    return img


def _upright(img: Image.Image) -> Image.Image:
    try:
        if img.getexif().get(ORIENTATION, 1) == 1:
            return img  # already upright: no copy of a large picture
        return ImageOps.exif_transpose(img) or img
    except (OSError, ValueError, SyntaxError, KeyError):  # a broken EXIF block: keep the picture as decoded
        return img


def _flatten(img: Image.Image) -> Image.Image:
    """Any mode as RGB or L, transparency on white (a PNG with an alpha channel), 16-bit scans brought to 8."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        hi = img.getextrema()[1]
        scale = 255 / hi if isinstance(hi, (int, float)) and hi > 255 else 1
        return img.point(lambda v: v * scale).convert("L")
    if img.mode == "F":
        return img.convert("L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    if img.mode in ("RGB", "L"):
        return img
    if img.mode == "1":
        return img.convert("L")
    return img.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def straighten(img: Image.Image) -> Image.Image:
    """The page cut out (:func:`autocrop`) and turned straight (:func:`skew_angle`) where both are sure."""
    box = page_box(img)
    region = img.crop(box) if box else img
    scale = MAX_LONG_SIDE / max(region.size)
    if scale < 1:  # no more pixels than the page keeps: everything after this (turning it above all) is faster
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS, reducing_gap=3.0)
        box = tuple(round(v * scale) for v in box) if box else None  # type: ignore[assignment]
        region = img.crop(box) if box else img
    angle = skew_angle(region)
    if angle is None:
        return region
    if box is None:  # a scan: turn it, the corners filled with the paper's colour from its edges
        return region.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=_edge_colour(region))
    # A page on a desk: turn the whole picture (corners in the desk's colour), then cut the now straight page.
    turned = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=_edge_colour(img))
    again = page_box(turned)
    return turned.crop(again or box)


def _edge_colour(img: Image.Image) -> int | tuple[int, ...]:
    w, h = img.size
    ring = max(1, min(w, h) // 100)
    edges = [ImageStat.Stat(img.crop(b)).mean for b in ((0, 0, w, ring), (0, h - ring, w, h), (0, 0, ring, h),
                                                         (w - ring, 0, w, h))]
    colour = tuple(round(sum(e[i] for e in edges) / len(edges)) for i in range(len(edges[0])))
    return colour[0] if len(colour) == 1 else colour


_SKEW_RANGE = 5.0  # degrees either way: a page laid by hand under the camera, or fed into a scanner
_SKEW_MIN = 0.3  # less is not worth a resampling
_SKEW_GAIN = 1.3  # the straightened profile must be this much sharper than the page as it is
_INK_SHARE = (0.005, 0.35)  # a page with print on it, not a blank sheet nor a photo


def skew_angle(img: Image.Image) -> float | None:
    """The angle (degrees, counter-clockwise as ``Image.rotate`` takes it) that makes the page's lines horizontal,
    or None when there is no sure answer (see the module's note)."""
    probe = img.convert("L")
    probe.thumbnail((800, 800), Image.Resampling.BILINEAR)
    if min(probe.size) < 64:
        return None
    threshold = _otsu(probe.histogram())
    ink = probe.point(lambda v: 255 if v <= threshold else 0)
    share = ImageStat.Stat(ink).mean[0] / 255
    if not _INK_SHARE[0] <= share <= _INK_SHARE[1]:
        return None
    scores = {0.0: _sharpness(ink, 0.0)}
    for tenth in range(-50, 51, 5):  # coarse: every half degree
        scores.setdefault(tenth / 10, _sharpness(ink, tenth / 10))
    coarse = max(scores, key=scores.__getitem__)
    for tenth in range(-4, 5):  # fine: every tenth of a degree around the best
        a = round(coarse + tenth / 10, 1)
        if abs(a) <= _SKEW_RANGE:
            scores.setdefault(a, _sharpness(ink, a))
    best = max(scores, key=scores.__getitem__)
    if abs(best) < _SKEW_MIN or abs(best) > _SKEW_RANGE - 0.5:
        return None  # straight already, or the best is at the end of the range: something else than a tilt
    if scores[best] < _SKEW_GAIN * max(scores[0.0], 1.0):
        return None
    return best


def _sharpness(ink: Image.Image, angle: float) -> float:
    """How sharp the row profile of ``ink`` turned by ``angle`` is: the sum of squared steps between rows."""
    turned = ink.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0)
    rows = turned.resize((1, turned.height), Image.Resampling.BOX)
    steps = ImageChops.difference(rows.crop((0, 0, 1, rows.height - 1)), rows.crop((0, 1, 1, rows.height)))
    return float(ImageStat.Stat(steps).sum2[0])


def _otsu(hist: list[int]) -> int:
    """Otsu's threshold of a 256-bin histogram: the grey that best separates ink from paper."""
    total = sum(hist)
    weighted = sum(i * n for i, n in enumerate(hist))
    below = below_sum = 0.0
    best, best_t = -1.0, 127
    for t in range(256):
        below += hist[t]
        if not below:
            continue
        above = total - below
        if not above:
            break
        below_sum += t * hist[t]
        between = below * above * (below_sum / below - (weighted - below_sum) / above) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def autocrop(img: Image.Image) -> Image.Image:
    """The page cut out of a uniform background around it, with a small margin; the image itself when the border
    is not uniform, the page does not stand out from it, or what stands out is too small or fills the picture."""
    box = page_box(img)
    return img if box is None else img.crop(box)


def page_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    w, h = img.size
    if w < 32 or h < 32:
        return None
    probe = img.convert("L")
    probe.thumbnail((_PROBE_SIDE, _PROBE_SIDE), Image.Resampling.BILINEAR)
    probe = probe.filter(ImageFilter.MedianFilter(3))  # sensor noise and paper grain are not the page's edge
    pw, ph = probe.size
    ring = max(2, min(pw, ph) // 50)
    border = [probe.crop(b) for b in ((0, 0, pw, ring), (0, ph - ring, pw, ph), (0, 0, ring, ph),
                                      (pw - ring, 0, pw, ph))]
    stats = [ImageStat.Stat(b) for b in border]
    means = [s.mean[0] for s in stats]
    if max(s.stddev[0] for s in stats) > _BORDER_UNIFORM_STDDEV or max(means) - min(means) > _BORDER_UNIFORM_STDDEV:
        return None  # the picture's edge is not one even background: nothing to cut reliably
    background = sum(means) / len(means)
    diff = ImageChops.difference(probe, Image.new("L", probe.size, round(background)))
    mask = diff.point(lambda v: 255 if v > _DIFFERS else 0)
    rows = _lines(mask, horizontal=True)
    cols = _lines(mask, horizontal=False)
    if not rows or not cols:
        return None
    top, bottom = rows[0], rows[-1] + 1
    left, right = cols[0], cols[-1] + 1
    share = (bottom - top) * (right - left) / (pw * ph)
    if share < _MIN_PAGE_SHARE or share > 0.92:
        return None  # a speck, or the page already fills the picture
    solid = ImageStat.Stat(mask.crop((left, top, right, bottom))).mean[0] / 255
    if solid < _PAGE_SOLID:
        return None  # what differs is scattered (text on a white scan, things on a desk), not one sheet
    sx, sy = w / pw, h / ph
    mx, my = round(w * _MARGIN), round(h * _MARGIN)
    return (max(0, round(left * sx) - mx), max(0, round(top * sy) - my),
            min(w, round(right * sx) + mx), min(h, round(bottom * sy) + my))


def _lines(mask: Image.Image, *, horizontal: bool) -> list[int]:
    """Indexes of the rows (or columns) where at least ``_LINE_SHARE`` of the pixels belong to the page."""
    w, h = mask.size
    # Squeeze the other axis to one pixel: the mean of a row (column) of 0/255 values is its share of page pixels.
    line = mask.resize((1, h) if horizontal else (w, 1), Image.Resampling.BOX)
    values = line.tobytes()  # mode L: one byte per pixel
    return [i for i, v in enumerate(values) if v >= 255 * _LINE_SHARE]


def _encode(img: Image.Image) -> bytes:
    """JPEG at the best quality that fits ``TARGET_BYTES``; smaller pixels only when the lowest quality does not."""
    side = MAX_LONG_SIDE
    while True:
        page = img.copy()
        if max(page.size) > side:
            page.thumbnail((side, side), Image.Resampling.LANCZOS)
        dpi = max(72, round(max(page.size) / A4_LONG_INCHES))  # the page prints as A4-sized
        out = b""
        for q in QUALITIES:
            buf = io.BytesIO()
            page.save(buf, "JPEG", quality=q, optimize=True, dpi=(dpi, dpi), subsampling="4:2:0")
            out = buf.getvalue()
            if len(out) <= TARGET_BYTES:
                return out
        if side <= MIN_LONG_SIDE:
            return out  # legibility first: a page this noisy stays a little over the target
        side = max(MIN_LONG_SIDE, int(side * 0.8))
