"""The three paper layouts (A4, A5 and an 80 mm thermal roll): page geometry, paragraph styles, ink colours."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm

LINE = colors.black
SHADE = colors.HexColor("#EFEFEF")
GREY = colors.HexColor("#444444")
# The tallest page a PDF viewer accepts (200 in); a longer roll flows onto further pages.
MAX_ROLL_HEIGHT = 14400.0


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """One layout's page and type sizes, in points."""

    width: float
    height: float | None  # None: the roll is cut to the content's height
    margin_x: float
    margin_y: float
    size: float  # body font size, pt
    title_size: float
    columns: int  # 4: two label/value pairs per row; 2: one pair per row
    label_width: float
    seal_height: float
    qr_size: float
    pad: float

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin_x

    @property
    def is_roll(self) -> bool:
        return self.height is None


GEOMETRIES: dict[str, Geometry] = {
    "a4": Geometry(width=210 * mm, height=297 * mm, margin_x=18 * mm, margin_y=15 * mm, size=10.5, title_size=22,
                   columns=4, label_width=28 * mm, seal_height=34 * mm, qr_size=26 * mm, pad=4),
    "a5": Geometry(width=148 * mm, height=210 * mm, margin_x=11 * mm, margin_y=10 * mm, size=9, title_size=17,
                   columns=4, label_width=22 * mm, seal_height=26 * mm, qr_size=22 * mm, pad=3),
    "thermal80": Geometry(width=80 * mm, height=None, margin_x=4 * mm, margin_y=4 * mm, size=8, title_size=14,
                          columns=2, label_width=19.5 * mm, seal_height=22 * mm, qr_size=24 * mm, pad=2),
}
LAYOUTS = tuple(GEOMETRIES)


def geometry_for(layout: str) -> Geometry:
    """The layout's geometry; ValueError naming the known layouts for any other name."""
    try:
        return GEOMETRIES[layout]
    except KeyError:
        raise ValueError(f"unknown layout: {layout!r} (expected one of {', '.join(LAYOUTS)})") from None


class Styles:
    """The paragraph styles of one layout, all in the CJK font (``font``) at the layout's body size."""

    def __init__(self, g: Geometry, font: str):
        base = ParagraphStyle("body", fontName=font, fontSize=g.size, leading=g.size * 1.4, wordWrap="CJK")
        self.body = base
        self.label = ParagraphStyle("label", parent=base, alignment=TA_CENTER)
        self.center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
        self.right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
        self.header = ParagraphStyle("header", parent=base, fontSize=g.size * 1.2, leading=g.size * 1.6,
                                     alignment=TA_CENTER)
        small = g.size * 0.85
        self.small = ParagraphStyle("small", parent=base, fontSize=small, leading=small * 1.4, textColor=GREY)
        self.note = ParagraphStyle("note", parent=base, alignment=TA_LEFT, spaceBefore=g.size * 0.6)
