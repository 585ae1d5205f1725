"""Generic pieces every document is built from: CJK paragraphs, one-line texts, tick boxes, QR codes, form tables.

Nothing here knows a document kind; :class:`Sheet` bundles what they are set with (layout, styles, fonts).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from app.desk.printing.fonts import FontSet
from app.desk.printing.layout import LINE, SHADE, Geometry, Styles, geometry_for

Field = tuple[str, str, bool]  # label, value, full row


class Para(Paragraph):
    """A CJK paragraph whose hanging punctuation stays inside its box.

    reportlab keeps a closing mark that cannot start a line at the end of the previous line,
    past the available width; in a table cell that crosses the grid line. When that happens
    the paragraph is broken again one em narrower, so a hung mark ends inside the box.
    """

    style: ParagraphStyle  # set by Paragraph; declared because wrap() replaces it

    def wrap(self, avail_width, avail_height):
        result = super().wrap(avail_width, avail_height)
        if not getattr(self, "_narrowed", False) and _hangs(self.blPara):
            self._narrowed = True
            self.style = ParagraphStyle("narrowed", parent=self.style,
                                        rightIndent=self.style.rightIndent + self.style.fontSize)
            result = super().wrap(avail_width, avail_height)
        return result


def _hangs(lines) -> bool:
    for line in getattr(lines, "lines", []):
        extra = line[0] if isinstance(line, tuple) else getattr(line, "extraSpace", 0)
        if extra < -0.01:
            return True
    return False


class FitLine(Flowable):
    """Text kept on one line by shrinking it (down to ``min_scale``), wrapped only beyond that.

    ``after``/``before`` name the characters a line may break after / before (a case number breaks only
    after "-", a heading only before "（"); a piece still too wide is broken anywhere as a last resort.
    Bold is faked (glyphs filled and stroked) because the CJK font has no bold face.
    """

    def __init__(self, fonts: FontSet, text: str, size: float, align: str = "center", bold: bool = False,
                 min_scale: float = 0.8, after: str = "", before: str = "", color=None):
        super().__init__()
        self.fonts, self.text, self.size, self.align, self.bold = fonts, text, size, align, bold
        self.min_scale, self.after, self.before, self.color = min_scale, after, before, color

    def _width(self, text: str) -> float:
        return self.fonts.text_width(text, self._size)

    def wrap(self, avail_width, avail_height):
        self._avail = avail_width
        natural = self.fonts.text_width(self.text, self.size)
        fit = self.size * avail_width / natural if natural else self.size
        self._size = min(self.size, max(fit, self.size * self.min_scale))
        self._lines = self._break(avail_width)
        return avail_width, len(self._lines) * self._size * (1.45 if self.bold else 1.4)

    def _pieces(self) -> list[str]:
        if not (self.after or self.before):
            return list(self.text)
        pieces, current = [], ""
        for ch in self.text:
            if current and ch in self.before:
                pieces.append(current)
                current = ""
            current += ch
            if ch in self.after:
                pieces.append(current)
                current = ""
        return pieces + ([current] if current else [])

    def _break(self, width: float) -> list[str]:
        lines, current = [], ""
        for piece in self._pieces():
            if current and self._width(current + piece) > width + 0.01:
                lines.append(current)
                current = ""
            if self._width(piece) > width + 0.01:  # last resort: anywhere inside the piece
                for ch in piece:
                    if current and self._width(current + ch) > width + 0.01:
                        lines.append(current)
                        current = ""
                    current += ch
            else:
                current += piece
        return lines + [current]

    def draw(self):
        canv = self.canv
        canv.saveState()
        canv.setLineWidth(self._size * 0.03)
        if self.color is not None:
            canv.setFillColor(self.color)
        step = self._size * (1.45 if self.bold else 1.4)
        for i, line in enumerate(self._lines):
            free = self._avail - self._width(line)
            x = {"center": free / 2, "right": free}.get(self.align, 0.0)
            y = (len(self._lines) - 1 - i) * step + self._size * 0.35
            self.fonts.draw(canv, x, y, line, self._size, render_mode=2 if self.bold else 0)
        canv.restoreState()


class ChoiceRow(Flowable):
    """Tick boxes with labels, wrapped onto as many lines as the width needs."""

    def __init__(self, fonts: FontSet, options: tuple[str, ...], size: float):
        super().__init__()
        self.fonts, self.options, self.size = fonts, options, size

    def _item_width(self, label: str) -> float:
        return self.size * 1.2 + self.fonts.text_width(label, self.size) + self.size * 1.2

    def wrap(self, avail_width, avail_height):
        self._lines: list[list[str]] = [[]]
        used = 0.0
        for label in self.options:
            w = self._item_width(label)
            if self._lines[-1] and used + w > avail_width:
                self._lines.append([])
                used = 0.0
            self._lines[-1].append(label)
            used += w
        return avail_width, len(self._lines) * self.size * 1.7

    def draw(self):
        canv, s = self.canv, self.size
        canv.setLineWidth(0.6)
        y = (len(self._lines) - 1) * s * 1.7 + s * 0.45
        for line in self._lines:
            x = s * 0.1
            for label in line:
                canv.rect(x, y - s * 0.08, s * 0.85, s * 0.85, stroke=1, fill=0)
                self.fonts.draw(canv, x + s * 1.2, y, label, s)
                x += self._item_width(label)
            y -= s * 1.7


def qr_code(payload: str, size: float) -> QrCode:
    # The flowable paints modules straight onto the canvas; the Drawing/widget route would also
    # select an unembedded Helvetica through the graphics renderer's default state.
    return QrCode(payload, width=size, height=size, qrBorder=2, qrLevel="M")


@dataclass(frozen=True)
class Sheet:
    """What one document is set with: its layout's geometry and styles, and the registered fonts."""

    g: Geometry
    st: Styles
    fonts: FontSet

    @classmethod
    def for_layout(cls, layout: str, fonts: FontSet) -> Sheet:
        g = geometry_for(layout)
        return cls(g, Styles(g, fonts.cjk), fonts)

    def para(self, text: str, style: ParagraphStyle) -> Para:
        return Para(self.fonts.rich(text), style)

    def fit(self, text: str, size: float, **options) -> FitLine:
        """A :class:`FitLine` (``options``: align, bold, min_scale, after, before, color)."""
        return FitLine(self.fonts, text, size, **options)

    def width(self, text: str, size: float | None = None) -> float:
        """The text's width at ``size`` (the body size when None)."""
        return self.fonts.text_width(text, self.g.size if size is None else size)


# --------------------------------------------------------------------------- tables


def grid_style(sheet: Sheet, label_cells: list[tuple[int, int]], spans: list[int], cols: int) -> TableStyle:
    """A ruled grid with shaded label cells; each row in ``spans`` has its value span to the last column."""
    g = sheet.g
    cmds = [
        ("GRID", (0, 0), (-1, -1), 0.6, LINE),
        ("FONT", (0, 0), (-1, -1), sheet.fonts.cjk, g.size),  # empty cells would select Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), g.pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), g.pad),
        ("TOPPADDING", (0, 0), (-1, -1), g.pad * 0.75),
        ("BOTTOMPADDING", (0, 0), (-1, -1), g.pad * 0.75),
    ]
    cmds += [("BACKGROUND", cell, cell, SHADE) for cell in label_cells]
    cmds += [("SPAN", (1, r), (cols - 1, r)) for r in spans]
    return TableStyle(cmds)


def field_table(fields: list[Field], sheet: Sheet) -> Table:
    """Label/value form rows: two pairs per row on A4, one pair per row on narrow paper."""
    g, st = sheet.g, sheet.st
    cw = g.content_width
    if g.columns == 4:
        value_w = (cw - 2 * g.label_width) / 2
        widths = [g.label_width, value_w, g.label_width, value_w]
    else:
        widths = [g.label_width, cw - g.label_width]
    rows: list[list] = []
    labels: list[tuple[int, int]] = []
    spans: list[int] = []

    def add_row(pairs: list[Field]) -> None:
        cells: list = []
        for label, value, _ in pairs:
            labels.append((len(cells), len(rows)))
            cells += [sheet.para(label, st.label), sheet.para((value or "").strip() or "—", st.body)]
        if len(cells) < g.columns:
            spans.append(len(rows))
            cells += [""] * (g.columns - len(cells))
        rows.append(cells)

    pending: list[Field] = []
    for field in fields:
        if g.columns == 2 or field[2]:
            if pending:
                add_row(pending)
                pending = []
            add_row([field])
        else:
            pending.append(field)
            if len(pending) == 2:
                add_row(pending)
                pending = []
    if pending:
        add_row(pending)
    table = Table(rows, colWidths=widths)
    table.setStyle(grid_style(sheet, labels, spans if g.columns == 4 else [], g.columns))
    return table


def heading(text: str, sheet: Sheet) -> Flowable:
    """A list's column heading; "需补正材料（共3项）" breaks only before its count, never inside it."""
    return sheet.fit(text, sheet.g.size, min_scale=1.0, before="（")


def section_table(header: list[str], body: list[list[str]], widths: list[float], prose_cols: set[int],
                  sheet: Sheet) -> Table:
    """A boxed list under one shaded header row (repeated on every page it flows onto).

    The list's name and count head the name column ("已收材料（共4项）"), so no separate title row
    takes up a line: completion slips and reply notices carry the materials too and still fit one A5 page.
    """
    st = sheet.st
    rows: list[list] = [[heading(h, sheet) for h in header]]
    for line in body:
        rows.append([sheet.para(cell, st.body if i in prose_cols else st.center) for i, cell in enumerate(line)])
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = grid_style(sheet, [], [], len(widths))
    style.add("BACKGROUND", (0, 0), (-1, 0), SHADE)
    table.setStyle(style)
    return table
