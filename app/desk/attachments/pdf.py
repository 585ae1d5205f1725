"""Several pages of one material as one PDF, and the cheap checks a PDF from disk gets before it is attached.

:func:`merge_pages` writes the PDF itself (a dozen objects per page): each JPEG goes in as it is (``DCTDecode``,
not decoded, not re-encoded, not ASCII85-inflated as reportlab's default would), on a page the size of the image
at its resolution, never larger than A4. :func:`check_pdf` / :func:`pdf_page_count` read a PDF with pypdf when it
is installed (a development dependency), else by its header, its end marker and its page objects.
"""

from __future__ import annotations

import io
import re

from PIL import Image, UnidentifiedImageError

from app.core.errors import UserError

A4_PT = (595.28, 841.89)
_MIN_DPI, _MAX_DPI = 72, 1200


class PdfRefused(UserError):
    """A PDF that cannot be attached, or pages that cannot be merged; Chinese message."""


def _jpeg_info(data: bytes) -> tuple[int, int, str, float | None]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "MPO"):
                raise PdfRefused("合并为 PDF 的页面必须是 JPEG 图片。")
            dpi = img.info.get("dpi")
            return img.width, img.height, img.mode, float(dpi[0]) if dpi and dpi[0] else None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PdfRefused("合并为 PDF 的页面不是有效的 JPEG 图片。") from None


def page_size(width: int, height: int, dpi: float | None) -> tuple[float, float]:
    """The page in points: the image at its dpi (a sane one), else fitted to A4; never larger than A4."""
    long_px = max(width, height)
    if dpi is None or not _MIN_DPI <= dpi <= _MAX_DPI:
        dpi = long_px / (A4_PT[1] / 72)
    w, h = width * 72 / dpi, height * 72 / dpi
    limit_w, limit_h = (A4_PT if height >= width else (A4_PT[1], A4_PT[0]))
    scale = min(1.0, limit_w / w, limit_h / h)
    return round(w * scale, 2), round(h * scale, 2)


def merge_pages(jpegs: list[bytes]) -> bytes:
    """One PDF, one page per JPEG, in order; the JPEG data embedded unchanged."""
    if not jpegs:
        raise PdfRefused("没有可合并的页面。")
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the page tree's number is known
    pages_obj = add(b"")
    kids = []
    for data in jpegs:
        width, height, mode, dpi = _jpeg_info(data)
        if mode not in ("L", "RGB"):
            raise PdfRefused("合并为 PDF 的页面必须是灰度或彩色（RGB）JPEG 图片。")
        space = b"/DeviceGray" if mode == "L" else b"/DeviceRGB"
        pw, ph = page_size(width, height, dpi)
        image = add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
                    b"/Filter /DCTDecode /Length %d >>\nstream\n" % (width, height, space, len(data))
                    + data + b"\nendstream")
        draw = b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q" % (pw, ph)
        content = add(b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject "
                        b"<< /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (pages_obj, pw, ph, image, content)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                              + b"] /Count %d >>" % len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref))
    return out.getvalue()


def has_pdf_header(data: bytes) -> bool:
    """The one "is it a PDF" sniff (a file from disk, a scanner's output): the ``%PDF-`` header within the first
    KB, as readers allow. Whether it is a whole one: :func:`looks_like_pdf`, :func:`pdf_page_count`."""
    return b"%PDF-" in data[:1024]


def looks_like_pdf(data: bytes) -> bool:
    """The ``%PDF-`` header at the start (within the first KB, as readers allow) and ``%%EOF`` near the end."""
    return has_pdf_header(data) and b"%%EOF" in data[-2048:]


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_COUNT = re.compile(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b")


def pdf_page_count(data: bytes) -> int:
    """How many pages a PDF has (:class:`PdfRefused` for one that is not a readable PDF)."""
    if not looks_like_pdf(data):
        raise PdfRefused("该文件不是完整的 PDF 文件（缺少 PDF 文件头或结尾），可能已损坏。")
    try:
        import pypdf
    except ImportError:
        return _count_without_pypdf(data)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfRefused("该 PDF 文件设有打开密码，请先取消密码再添加。")
        pages = len(reader.pages)
    except PdfRefused:
        raise
    except Exception:  # pypdf raises many kinds for a broken file: all mean "cannot read it"
        raise PdfRefused("该 PDF 文件已损坏，无法读取。") from None
    if pages < 1:
        raise PdfRefused("该 PDF 文件没有页面。")
    return pages


def _count_without_pypdf(data: bytes) -> int:
    """Page objects in the file as written; PDFs that keep them compressed (object streams) count by the page
    tree's /Count, else as one page (the file is still a PDF)."""
    pages = len(_PAGE.findall(data))
    if pages:
        return pages
    counts = [int(a or b) for a, b in _COUNT.findall(data)]
    return max(counts) if counts else 1
