"""A page from the document camera, a scanner or a file made a legible, compact document image (Pillow only).

:func:`normalise_page`: decode (JPEG, PNG, BMP, TIFF), turn upright by the EXIF orientation, cut a page out of a
uniform background around it (only when the border is plainly uniform and the page plainly stands out: else the
picture is left as it is), grayscale unless colour is asked for, at most :data:`MAX_LONG_SIDE` pixels on the long
side (an A4 page at about 170 dpi), and JPEG at the highest quality that fits :data:`TARGET_BYTES`. Nothing of the
original's metadata is kept (no EXIF, no GPS, no camera, no ICC profile).

Deskew is not done: Pillow has no line or edge detection, and a projection-profile search goes wrong on photos,
forms with boxes and pages without much text; a slightly tilted page stays as legible as it was taken.
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

# Auto-crop: measured on a small copy of the picture.
_PROBE_SIDE = 400
_BORDER_UNIFORM_STDDEV = 18.0  # the outer ring of the picture must be this even (a table, a scanner lid)
_DIFFERS = 48  # a pixel this far from the border's grey belongs to the page
_LINE_SHARE = 0.15  # a row/column is part of the page when this share of its pixels differs from the border
_MARGIN = 0.015  # kept around the page found, of the picture's size
_PAGE_SOLID = 0.6  # the page found is one sheet: most of the box differs from the border (not print on paper)
_MIN_PAGE_SHARE = 0.12  # a "page" smaller than this share of the picture is more likely a shadow: no crop


class ImageRefused(UserError):
    """A file that cannot be made a document image; Chinese message."""


def normalise_page(data: bytes, *, color: bool = False) -> bytes:
    """``data`` (an image file's bytes) as a document JPEG ≤ ~500 KB; :class:`ImageRefused` if it is not one."""
    img = _decode(data)
    img = _upright(img)
    img = _flatten(img)
    img = autocrop(img)
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
            if img.format in ("JPEG", "MPO"):
                img.draft("RGB", (MAX_LONG_SIDE, MAX_LONG_SIDE))  # decode a large photo at 1/2, 1/4 … directly
            img.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRefused("图片像素过多（可能是损坏或恶意构造的文件），未添加。") from None
    except UnidentifiedImageError:
        raise ImageRefused("该文件不是可识别的图片（支持 JPEG、PNG、BMP、TIFF）。") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused("图片文件不完整或已损坏，无法读取。") from None
    return img


def _upright(img: Image.Image) -> Image.Image:
    try:
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
