"""Document images (Pillow) and the merged PDF: real images made here, the PDF read back with pypdf."""

from __future__ import annotations

import io
import os

import pypdf
import pytest
from PIL import Image, ImageDraw, ImageStat

from app.core.errors import UserError
from app.desk.attachments.images import TARGET_BYTES, ImageRefused, normalise_page, page_box, skew_angle
from app.desk.attachments.pdf import PdfRefused, merge_pages, pdf_page_count


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def _page(width=1240, height=1754) -> Image.Image:
    """A white A4 page with a black title bar at the top and lines of "text" below it."""
    page = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(page)
    d.rectangle((60, 60, width - 60, 160), fill="black")
    for y in range(240, height - 100, 60):
        d.rectangle((80, y, width - 200, y + 18), fill=(40, 40, 40))
    return page


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_exif_orientation_is_applied_and_metadata_dropped():
    page = _page(800, 1131)
    # Stored as the camera does when held sideways: pixels turned, orientation 6 (turn 90° clockwise to view).
    stored = page.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "DocCam Vendor"  # Make
    gps = exif.get_ifd(0x8825)
    gps[2] = (31.0, 14.0, 0.0)  # GPSLatitude
    gps[1] = "N"
    data = _jpeg(stored, exif=exif.tobytes())
    assert _open(data).size == (1131, 800)
    out = _open(normalise_page(data))
    assert out.format == "JPEG"
    assert out.height > out.width  # upright again: portrait
    # The black title bar is at the top, as on the page itself.
    top = out.crop((0, 0, out.width, out.height // 8)).convert("L")
    bottom = out.crop((0, out.height * 7 // 8, out.width, out.height)).convert("L")
    assert min(top.tobytes()) < 60 and sum(top.tobytes()) / len(top.tobytes()) < \
        sum(bottom.tobytes()) / len(bottom.tobytes())
    assert not out.getexif() and "exif" not in out.info and "icc_profile" not in out.info
    assert b"DocCam" not in normalise_page(data)


def test_grayscale_unless_colour():
    photo = _page(600, 800)
    ImageDraw.Draw(photo).ellipse((200, 400, 400, 600), fill=(200, 20, 20))  # a red stamp
    data = _jpeg(photo)
    assert _open(normalise_page(data)).mode == "L"
    coloured = _open(normalise_page(data, color=True))
    assert coloured.mode == "RGB"
    r, g, _b = coloured.getpixel((coloured.width // 2, coloured.height * 5 // 8))
    assert r > 150 and g < 90


def test_noisy_4000x3000_photo_fits_500_kb_at_a_legible_size():
    noise = Image.frombytes("L", (4000, 3000), os.urandom(4000 * 3000)).convert("RGB")
    data = _jpeg(noise)
    assert len(data) > 4 * 1024 * 1024
    out = normalise_page(data)
    img = _open(out)
    assert len(out) <= TARGET_BYTES
    assert max(img.size) >= 1200 and max(img.size) <= 2000
    assert img.mode == "L"


def test_white_page_on_a_dark_desk_is_cropped():
    desk = Image.new("RGB", (3000, 2250), (45, 38, 35))
    page = _page(1100, 1560)
    desk.paste(page, (950, 330))
    box = page_box(desk)
    assert box is not None
    left, top, right, bottom = box
    # The page with a small margin, nothing of the desk beyond it.
    assert 910 <= left <= 950 and 290 <= top <= 330 and 2050 <= right <= 2090 and 1890 <= bottom <= 1930
    out = _open(normalise_page(_jpeg(desk)))
    assert out.height > out.width  # the page's portrait shape, not the landscape photo
    assert abs(out.width / out.height - 1100 / 1560) < 0.05


def test_unsure_pictures_are_left_alone():
    # A page filling the whole picture, and a busy background: no cut.
    assert page_box(_page()) is None
    # Things on the desk all around (patches of every shade): the border is not one background.
    busy = Image.new("L", (1200, 900), 128)
    d, shades = ImageDraw.Draw(busy), os.urandom(400)
    for i in range(200):
        x, y = (i * 97) % 1200, (i * 61) % 900
        d.rectangle((x, y, x + 90, y + 70), fill=shades[i])
    busy.paste(Image.new("L", (500, 700), 255), (350, 100))
    assert page_box(busy) is None
    # Fine sensor noise on an even grey desk is still an even desk: the white sheet is found.
    grainy = Image.frombytes("L", (1200, 900), os.urandom(1200 * 900))
    grainy.paste(Image.new("L", (500, 700), 255), (350, 100))
    assert page_box(grainy) is not None
    out = _open(normalise_page(_jpeg(_page(800, 1131))))
    assert out.size == (800, 1131)


def _lines(tilt: float, lines: int = 25) -> Image.Image:
    """A scanned page of text lines, turned by ``tilt`` degrees (counter-clockwise)."""
    page = Image.new("L", (1240, 1754), 245)
    d = ImageDraw.Draw(page)
    for i in range(lines):
        for j in range(12):  # words of a line
            d.rectangle((120 + j * 82, 150 + i * 60, 180 + j * 82, 172 + i * 60), fill=25)
    return page.rotate(tilt, resample=Image.Resampling.BICUBIC, fillcolor=245)


@pytest.mark.parametrize("tilt", [1.3, -2.7, 4.0])
def test_a_tilted_page_is_straightened(tilt):
    angle = skew_angle(_lines(tilt))
    assert angle is not None and abs(angle + tilt) <= 0.25
    out = _open(normalise_page(_jpeg(_lines(tilt).convert("RGB"))))
    assert skew_angle(out) is None  # straight now


def test_deskew_leaves_what_it_is_not_sure_of():
    assert skew_angle(_lines(0)) is None  # straight already
    assert skew_angle(_lines(0.2)) is None  # not worth a resampling
    assert skew_angle(Image.frombytes("L", (1200, 1600), os.urandom(1200 * 1600))) is None  # noise
    assert skew_angle(Image.radial_gradient("L").resize((1200, 1600))) is None  # a photo-like picture
    assert skew_angle(Image.new("L", (1200, 1600), 250)) is None  # a blank sheet
    straight = _open(normalise_page(_jpeg(_lines(0).convert("RGB"))))
    assert straight.size == (1240, 1754)


def test_a_tilted_page_on_a_desk_is_cut_out_straight():
    desk = Image.new("L", (3000, 2250), 40)
    page = _lines(0).crop((0, 0, 1240, 1754))
    turned = page.rotate(-3, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=40)
    desk.paste(turned, (800, 200))
    out = _open(normalise_page(_jpeg(desk.convert("RGB"))))
    assert skew_angle(out) is None
    assert abs(out.width / out.height - 1240 / 1754) < 0.06  # the page, not the desk around it
    # Paper just inside the corners (a wedge of the desk would be dark there), a thin edge of desk at most.
    w, h = out.size
    for box in ((w // 50, h // 50, w // 10, h // 25), (w - w // 10, h - h // 25, w - w // 50, h - h // 50)):
        assert ImageStat.Stat(out.crop(box)).mean[0] > 200


@pytest.mark.parametrize("data, words", [
    (b"", "0 字节"),
    (b"%PDF-1.4 not an image at all", "不是可识别的图片"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "不是可识别的图片"),
])
def test_not_an_image_is_refused_in_chinese(data, words):
    with pytest.raises(ImageRefused, match=words) as caught:
        normalise_page(data)
    assert isinstance(caught.value, UserError)


def test_truncated_jpeg_is_refused():
    data = _jpeg(_page(400, 600))
    with pytest.raises(ImageRefused, match="不完整或已损坏"):
        normalise_page(data[: len(data) // 2])


def test_decompression_bomb_is_refused():
    # A tiny PNG that claims 20000 × 20000 pixels (400 M, over Pillow's MAX_IMAGE_PIXELS).
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(ImageRefused, match="像素过多"):
        normalise_page(buf.getvalue())


def test_png_with_transparency_and_bmp_and_tiff_are_read():
    rgba = Image.new("RGBA", (600, 800), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle((100, 100, 500, 200), fill=(0, 0, 0, 255))
    for fmt, img in (("PNG", rgba), ("BMP", _page(600, 800)), ("TIFF", _page(600, 800))):
        buf = io.BytesIO()
        img.save(buf, fmt)
        out = _open(normalise_page(buf.getvalue()))
        assert out.format == "JPEG" and out.mode == "L"
    flat = _open(normalise_page(_png(rgba)))
    assert flat.getpixel((5, 5)) > 240  # transparency became white paper, not black


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_merge_two_pages_into_one_pdf(tmp_path):
    first = normalise_page(_jpeg(_page(1240, 1754)))
    second = normalise_page(_jpeg(_page(1754, 1240)), color=True)  # a landscape page
    pdf = merge_pages([first, second])
    assert pdf.startswith(b"%PDF-")
    assert first in pdf and second in pdf  # embedded as they are, not re-encoded
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    p1, p2 = reader.pages
    assert float(p1.mediabox.height) > float(p1.mediabox.width)
    assert float(p2.mediabox.width) > float(p2.mediabox.height)
    assert float(p1.mediabox.height) <= 842  # never larger than A4
    assert abs(float(p1.mediabox.height) - 841.89) < 2  # 150 dpi A4 scan → an A4 page
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == 2
    assert pdf_page_count(pdf) == 2
    out = tmp_path / "packet.pdf"
    out.write_bytes(pdf)


def test_pdf_checks():
    with pytest.raises(PdfRefused, match="不是完整的 PDF"):
        pdf_page_count(b"hello")
    with pytest.raises(PdfRefused, match="不是完整的 PDF"):
        pdf_page_count(merge_pages([normalise_page(_jpeg(_page(400, 600)))])[:-200])
    with pytest.raises(PdfRefused, match="JPEG"):
        merge_pages([_png(_page(400, 400))])
    with pytest.raises(PdfRefused):
        merge_pages([])


def test_page_count_without_pypdf(monkeypatch):
    import builtins

    from app.desk.attachments import pdf as mod
    pdf = merge_pages([normalise_page(_jpeg(_page(400, 600)))] * 3)
    real_import = builtins.__import__

    def no_pypdf(name, *a, **k):
        if name == "pypdf":
            raise ImportError(name)
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_pypdf)
    assert mod.pdf_page_count(pdf) == 3
