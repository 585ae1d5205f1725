"""Printed documents of the service window: data in, PDF bytes out (no Qt).

The documents (shared/domain/rules.md §2, one module each under ``kinds/``) in three layouts
(``layout.py``): A4, A5 and an 80 mm thermal roll. The blocks mask the applicant's ID and phone themselves
(rules.md §5), so callers hand over the full values and cannot forget to mask them; the QR code carries
only the case number and a verification code. Output is byte-stable for the same data: the PDF is built
with ``invariant=1`` and every date comes from the data, never from the clock.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from app.desk.printing.blocks import printed_text
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Sheet
from app.desk.printing.fonts import FontSet, ensure_fonts
from app.desk.printing.kinds import kind_for
from app.desk.printing.layout import GREY, MAX_ROLL_HEIGHT, Geometry


def render(data: DocumentData, layout: str) -> bytes:
    """The document as PDF bytes; identical data gives identical bytes. ValueError for an unknown kind or layout."""
    kind = kind_for(data.doc_type)
    fonts = ensure_fonts()
    sheet = Sheet.for_layout(layout, fonts)
    g = sheet.g
    story = kind.story(data, sheet)
    height = g.height if g.height is not None else _roll_height(story, g)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=(g.width, height), leftMargin=g.margin_x, rightMargin=g.margin_x,
        topMargin=g.margin_y, bottomMargin=g.margin_y, invariant=1, title=f"{kind.title} {data.doc_number}",
        author=data.committee_name, creator="OneDesk", subject=kind.title,
        # Otherwise reportlab references an unembedded Helvetica in every page's preamble.
        initialFontName=fonts.cjk,
    )
    frame = Frame(g.margin_x, g.margin_y, g.content_width, height - 2 * g.margin_y,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    # A roll has no pages to number; its printing time ends the story instead.
    footer = None if g.is_roll else (printed_text(data), data.doc_number)
    doc.build(story, canvasmaker=_canvas_class(footer, g, fonts))
    return buf.getvalue()


def _canvas_class(footer: tuple[str, str] | None, g: Geometry, fonts: FontSet) -> type[Canvas]:
    """A canvas that, given a (left, right) footer, writes it and "第 i 页 / 共 n 页" on every page."""

    class _DocumentCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            if footer is None:
                super().showPage()
                return
            self._pages.append(dict(self.__dict__))  # the total is known only once every page is laid out
            self._startPage()

        def save(self):
            if footer is not None:
                self._write_footers(*footer)
            super().save()

        def _write_footers(self, left: str, number_text: str) -> None:
            total = len(self._pages)
            size, y = g.size * 0.8, g.margin_y * 0.35
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                right = f"{number_text}　第 {number} 页 / 共 {total} 页"
                right_w = fonts.text_width(right, size)
                # Too long for one line: the left part moves up into the bottom margin.
                fits = fonts.text_width(left, size) + right_w + size * 2 <= g.content_width
                self.setFillColor(GREY)
                fonts.draw(self, g.margin_x, y if fits else y + size * 1.25, left, size)
                fonts.draw(self, g.width - g.margin_x - right_w, y, right, size)
                super().showPage()

    return _DocumentCanvas


def _roll_height(story: list[Flowable], g: Geometry) -> float:
    """Height of the roll: the sum of what the flowables need (an upper bound: spaces do not collapse)."""
    total = 0.0
    for i, flowable in enumerate(story):
        _, h = flowable.wrap(g.content_width, MAX_ROLL_HEIGHT)
        total += h + flowable.getSpaceAfter() + (flowable.getSpaceBefore() if i else 0)
    return min(MAX_ROLL_HEIGHT, total + 2 * g.margin_y + 3 * mm)
