"""Printed documents of the service window: data in, PDF bytes out (no Qt).

Five documents (shared/domain/rules.md §2) in three layouts: A4, A5 and an 80 mm thermal roll.
The generator masks the applicant's ID and phone itself (rules.md §5), so callers hand over the
full values and cannot forget to mask them; the QR code carries only the case number and a
verification code. Output is byte-stable for the same data: the PDF is built with ``invariant=1``
and every date comes from the data, never from the clock.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib import textsplit as rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate, Flowable, Frame, KeepTogether, PageTemplate, Paragraph, Spacer, Table, TableStyle,
)
from reportlab.platypus import paragraph as rl_paragraph

from app.core.paths import CJK_FONT_FILE
from forms.identity import mask_id, mask_phone, normalize_id, normalize_phone

DOC_TITLES = {
    "receipt": "受理回执",
    "completion": "办结单",
    "notice": "一次性告知单",
    "refusal": "不予受理告知单",
    "reply": "答复告知",
}
LAYOUTS = ("a4", "a5", "thermal80")
EVALUATION_LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
QR_PREFIX = "ONEDESK"

CJK_FONT = "OneDeskCJK"
# DroidSansFallback has no ASCII glyphs (digits, Latin letters, '*', '-'), so those runs are set in
# Bitstream Vera, which ships inside reportlab itself; both are embedded as subsets.
LATIN_FONT = "OneDeskLatin"
LATIN_FONT_FILE = Path(reportlab.__file__).resolve().parent / "fonts" / "Vera.ttf"

# China Standard Time has no daylight saving (rules.md §1): a fixed offset needs no tz database.
CST = dt.timezone(dt.timedelta(hours=8), "CST")

_FORM_WIDTH = "原件及复印件"
_LINE = colors.black
_SHADE = colors.HexColor("#EFEFEF")
_GREY = colors.HexColor("#444444")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class MaterialLine:
    name: str
    form: str  # "原件" / "复印件" / "原件及复印件"
    count: int


@dataclass(frozen=True)
class MissingMaterial:
    name: str
    standard: str


@dataclass(frozen=True)
class DocumentData:
    """Everything one printed document shows. ID and phone are FULL here; :func:`render` masks them."""

    doc_type: str
    committee_name: str
    committee_phone: str
    committee_address: str
    doc_number: str
    case_number: str
    item_code: str
    item_name: str
    mode: str  # "即办" / "转办"
    department: str
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    agent_name: str | None
    received_at: dt.datetime
    materials: list[MaterialLine]
    missing: list[MissingMaterial]
    deadline: dt.datetime | None
    deadline_provisional: bool
    deadline_note: str
    worker_name: str
    worker_phone: str
    result: str
    result_approved: bool | None
    refusal_reason: str
    redirect_to: str
    delivery: str
    progress_query: str
    appeal_route: str
    verification_code: str
    reprint_count: int
    printed_at: dt.datetime
    # Date of the department's decision (completion/reply); printed_at stands in when unknown.
    decided_at: dt.datetime | None = None


def qr_payload(data: DocumentData) -> str:
    """What the QR code holds: case number and verification code only, never personal data."""
    return f"{QR_PREFIX}|{data.case_number.strip()}|{data.verification_code.strip()}"


def reprint_label(count: int) -> str:
    return f"补打（第{count}次）" if count > 0 else ""


# --------------------------------------------------------------------------- fonts

# Chinese punctuation that must not start a line (GB/T 15834); reportlab's list lacks the
# full-width comma, colon, semicolon, question and exclamation marks and closing quotes.
_CANNOT_START_LINE = "，：；！？》〉」』”’…—％"
_font_lock = threading.Lock()
_cjk_chars: frozenset[int] = frozenset()
_latin_chars: frozenset[int] = frozenset()


def ensure_fonts() -> None:
    """Register the two embedded fonts once per process (parsing the 4 MB CJK font takes ~0.1 s)."""
    global _cjk_chars, _latin_chars
    with _font_lock:
        if _cjk_chars:
            return
        latin = TTFont(LATIN_FONT, str(LATIN_FONT_FILE))
        cjk = TTFont(CJK_FONT, str(CJK_FONT_FILE))
        pdfmetrics.registerFont(latin)
        pdfmetrics.registerFont(cjk)
        _latin_chars = frozenset(latin.face.charToGlyph)
        _cjk_chars = frozenset(cjk.face.charToGlyph)
        for module in (rl_paragraph, rl_textsplit):  # each holds its own copy of the list
            module.ALL_CANNOT_START += "".join(c for c in _CANNOT_START_LINE if c not in module.ALL_CANNOT_START)


def _font_for(ch: str) -> str:
    code = ord(ch)
    if code < 0x2E80 and code in _latin_chars and (code not in _cjk_chars or code < 0x80):
        return LATIN_FONT
    return CJK_FONT


def _runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font, run) so every character is set in a font that has its glyph."""
    return [(font, "".join(chars)) for font, chars in groupby(text, key=_font_for)]


# Chinese print puts no space between Chinese and Latin text; kept, such a space can end up
# starting a wrapped line and push it out of alignment.
_SPACE_BY_CJK = re.compile(r"(?<=[\u2e80-\uffef]) +| +(?=[\u2e80-\uffef])")


def _rich(text: str) -> str:
    """Paragraph markup for plain text: escaped, Latin runs in the Latin font, newlines kept."""
    parts = []
    for font, run in _runs(_SPACE_BY_CJK.sub("", text or "")):
        run = escape(run).replace("\n", "<br/>")
        parts.append(f'<font face="{LATIN_FONT}">{run}</font>' if font == LATIN_FONT else run)
    return "".join(parts)


def _text_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for font, run in _runs(text))


def _draw_runs(canv: Canvas, x: float, y: float, text: str, size: float, render_mode: int = 0) -> None:
    t = canv.beginText(x, y)
    t.setTextRenderMode(render_mode)
    for font, run in _runs(text):
        t.setFont(font, size)
        t.textOut(run)
    canv.drawText(t)


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class _Geometry:
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


_GEOMETRIES = {
    "a4": _Geometry(210 * mm, 297 * mm, 18 * mm, 15 * mm, 10.5, 22, 4, 28 * mm, 34 * mm, 26 * mm, 4),
    "a5": _Geometry(148 * mm, 210 * mm, 11 * mm, 10 * mm, 9, 17, 4, 22 * mm, 26 * mm, 22 * mm, 3),
    "thermal80": _Geometry(80 * mm, None, 4 * mm, 4 * mm, 8, 14, 2, 19.5 * mm, 22 * mm, 24 * mm, 2),
}
# The tallest page a PDF viewer accepts (200 in); a longer roll flows onto further pages.
_MAX_ROLL_HEIGHT = 14400.0


class _Styles:
    def __init__(self, g: _Geometry):
        base = ParagraphStyle("body", fontName=CJK_FONT, fontSize=g.size, leading=g.size * 1.4, wordWrap="CJK")
        self.body = base
        self.label = ParagraphStyle("label", parent=base, alignment=TA_CENTER)
        self.center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
        self.right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
        self.header = ParagraphStyle("header", parent=base, fontSize=g.size * 1.2, leading=g.size * 1.6, alignment=TA_CENTER)
        small = g.size * 0.85
        self.small = ParagraphStyle("small", parent=base, fontSize=small, leading=small * 1.4, textColor=_GREY)
        self.small_center = ParagraphStyle("small_c", parent=self.small, alignment=TA_CENTER)
        self.note = ParagraphStyle("note", parent=base, alignment=TA_LEFT, spaceBefore=g.size * 0.6)


# --------------------------------------------------------------------------- flowables


class _Para(Paragraph):
    """A CJK paragraph whose hanging punctuation stays inside its box.

    reportlab keeps a closing mark that cannot start a line at the end of the previous line,
    past the available width; in a table cell that crosses the grid line. When that happens
    the paragraph is broken again one em narrower, so a hung mark ends inside the box.
    """

    def wrap(self, avail_width, avail_height):
        result = super().wrap(avail_width, avail_height)
        if not getattr(self, "_narrowed", False) and _hangs(self.blPara):
            self._narrowed = True
            self.style = ParagraphStyle("narrowed", parent=self.style, rightIndent=self.style.rightIndent + self.style.fontSize)
            result = super().wrap(avail_width, avail_height)
        return result


def _hangs(lines) -> bool:
    for line in getattr(lines, "lines", []):
        extra = line[0] if isinstance(line, tuple) else getattr(line, "extraSpace", 0)
        if extra < -0.01:
            return True
    return False


class _FitLine(Flowable):
    """Text kept on one line by shrinking it (down to ``min_scale``), wrapped only beyond that.

    ``after``/``before`` name the characters a line may break after / before (a case number breaks only
    after "-", a heading only before "（"); a piece still too wide is broken anywhere as a last resort.
    Bold is faked (glyphs filled and stroked) because the CJK font has no bold face.
    """

    def __init__(self, text: str, size: float, align: str = "center", bold: bool = False, min_scale: float = 0.8,
                 after: str = "", before: str = "", color=None):
        super().__init__()
        self.text, self.size, self.align, self.bold, self.min_scale = text, size, align, bold, min_scale
        self.after, self.before, self.color = after, before, color

    def wrap(self, avail_width, avail_height):
        self._avail = avail_width
        natural = _text_width(self.text, self.size)
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
            if current and _text_width(current + piece, self._size) > width + 0.01:
                lines.append(current)
                current = ""
            if _text_width(piece, self._size) > width + 0.01:  # last resort: anywhere inside the piece
                for ch in piece:
                    if current and _text_width(current + ch, self._size) > width + 0.01:
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
            free = self._avail - _text_width(line, self._size)
            x = {"center": free / 2, "right": free}.get(self.align, 0.0)
            y = (len(self._lines) - 1 - i) * step + self._size * 0.35
            _draw_runs(canv, x, y, line, self._size, render_mode=2 if self.bold else 0)
        canv.restoreState()


class _ChoiceRow(Flowable):
    """Tick boxes with labels, wrapped onto as many lines as the width needs."""

    def __init__(self, options: tuple[str, ...], size: float):
        super().__init__()
        self.options, self.size = options, size

    def _item_width(self, label: str) -> float:
        return self.size * 1.2 + _text_width(label, self.size) + self.size * 1.2

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
                _draw_runs(canv, x + s * 1.2, y, label, s)
                x += self._item_width(label)
            y -= s * 1.7


def _qr(payload: str, size: float) -> QrCode:
    # The flowable paints modules straight onto the canvas; the Drawing/widget route would also
    # select an unembedded Helvetica through the graphics renderer's default state.
    return QrCode(payload, width=size, height=size, qrBorder=2, qrLevel="M")


# --------------------------------------------------------------------------- formatting


def _local(value: dt.datetime) -> dt.datetime:
    # Naive values are taken as UTC, the storage convention of the models (rules.md §1).
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(CST)


def fmt_date(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    v = _local(value)
    return f"{v.year}年{v.month}月{v.day}日"


def fmt_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{fmt_date(value)}\u00a0{_local(value):%H:%M}"  # no-break: survives _rich's space rule


_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def _scrub(text: str, data: DocumentData) -> str:
    """Mask the applicant's ID/phone (and any ID-like number) a worker typed into free text."""
    if not text:
        return ""
    phone = normalize_phone(data.applicant_phone)
    if len(phone) >= 7:
        text = text.replace(phone, mask_phone(phone))
    ident = normalize_id(data.applicant_id_number)
    if len(ident) >= 15:
        text = re.sub(re.escape(ident), mask_id(ident), text, flags=re.IGNORECASE)
    return _ID_LIKE.sub(lambda m: mask_id(m.group()), text)


def _deadline_text(data: DocumentData) -> str:
    if data.mode == "即办" or data.deadline is None:
        return "即办件，当场办结" if data.mode == "即办" else "以承办部门通知为准"
    text = f"{fmt_datetime(data.deadline)}前"
    if data.deadline_provisional:
        note = _scrub(data.deadline_note, data) or "节假日安排尚未公布，暂按周一至周五计算，如有调整另行告知"
        text += f"（暂定）\n{note}"
    elif data.deadline_note:
        text += f"\n{_scrub(data.deadline_note, data)}"
    return text


def _conclusion(data: DocumentData) -> str:
    if data.result_approved is None:
        return ""
    if data.doc_type == "reply":
        return "同意" if data.result_approved else "不同意"
    return "予以办理" if data.result_approved else "不予办理"


# --------------------------------------------------------------------------- document content

_Field = tuple[str, str, bool]  # label, value, full row


def _applicant_fields(data: DocumentData) -> list[_Field]:
    return [
        ("申请人", data.applicant_name, False),
        ("身份证号", mask_id(data.applicant_id_number), False),
        ("联系电话", mask_phone(data.applicant_phone), False),
        ("代办人", data.agent_name or "无", False),
    ]


def _contact_fields(data: DocumentData) -> list[_Field]:
    worker = [("经办人", data.worker_name, False)]
    if data.worker_phone.strip() and data.worker_phone.strip() != data.committee_phone.strip():
        worker.append(("经办人电话", data.worker_phone, False))
    return worker + [("社区电话", data.committee_phone, False), ("社区地址", data.committee_address, True)]


def _item_field(data: DocumentData) -> _Field:
    code = f"（事项编码：{data.item_code}）" if data.item_code else ""
    return ("申请事项", f"{data.item_name}{code}", True)


def _fields_before(data: DocumentData) -> list[_Field]:
    """The form rows above the materials table, per document type (below the case number row)."""
    s = lambda text: _scrub(text, data)  # noqa: E731 - short local alias
    head: list[_Field] = []
    applicant = _applicant_fields(data)
    if data.doc_type == "receipt":
        return head + [_item_field(data)] + applicant + [
            ("受理时间", fmt_datetime(data.received_at), False),
            ("承办部门", data.department, False),
            ("承诺答复时间", _deadline_text(data), True),
        ]
    if data.doc_type == "notice":
        return head + [_item_field(data)] + applicant + [("接件时间", fmt_datetime(data.received_at), True)]
    if data.doc_type == "refusal":
        rows = head + [_item_field(data)] + applicant + [
            ("申请时间", fmt_datetime(data.received_at), True),
            ("不予受理理由", s(data.refusal_reason), True),
            ("建议办理渠道", s(data.redirect_to) or "—", True),
        ]
        if data.appeal_route:
            rows.append(("异议途径", s(data.appeal_route), True))
        return rows
    # completion / reply: the result follows the materials table (_fields_after)
    return head + [_item_field(data)] + applicant + [
        ("受理时间", fmt_datetime(data.received_at), False),
        ("承办部门", data.department, False),
    ]


def _result_fields(data: DocumentData) -> list[_Field]:
    """Completion / reply: the decision, its date and reasons, how to collect, and the appeal route if adverse."""
    s = lambda text: _scrub(text, data)  # noqa: E731
    verb = "答复" if data.doc_type == "reply" else "办理"
    rows: list[_Field] = []
    if _conclusion(data):
        rows.append((f"{verb}结论", _conclusion(data), False))
    rows += [
        (f"{verb}日期", fmt_date(data.decided_at or data.printed_at), False),
        ("结果及理由", s(data.result), True),
        ("领取方式", s(data.delivery) or "—", True),
    ]
    if data.result_approved is False and data.appeal_route:
        rows.append(("救济途径", s(data.appeal_route), True))
    return rows


def _fields_after(data: DocumentData) -> list[_Field]:
    """The form rows below the materials table, per document type."""
    s = lambda text: _scrub(text, data)  # noqa: E731
    rows: list[_Field] = _result_fields(data) if data.doc_type in ("completion", "reply") else []
    if data.doc_type == "receipt" and data.progress_query:
        rows.append(("进度查询", s(data.progress_query), True))
    if data.doc_type == "receipt":
        rows.append(("结果送达", s(data.delivery) or "—", True))
    return rows + _contact_fields(data)


def _statement(data: DocumentData) -> str:
    item = data.item_name
    if data.doc_type == "receipt":
        if data.mode == "即办":
            return f"说明：您申请的“{item}”已由本社区受理并当场办理。请妥善保管本回执。"
        return (
            f"说明：本社区已收到您申请“{item}”的材料，并转交{data.department or '承办部门'}办理。"
            "社区居民委员会不是行政机关，本回执仅证明材料已收取和转交，办理结果以承办部门的决定为准。请妥善保管本回执。"
        )
    if data.doc_type == "notice":
        return (
            f"您申请的“{item}”尚缺下列材料或材料不符合要求，现一次性告知如下。"
            "请按要求补齐后，携本告知单到社区服务窗口提交，下表所列已收材料无需重复提交。"
        )
    if data.doc_type == "refusal":
        return f"经审查，您申请的“{item}”本社区不予受理，理由及建议办理渠道见上表。"
    return ""


def _evaluation(data: DocumentData, st: _Styles, g: _Geometry) -> list[Flowable]:
    if data.doc_type not in ("completion", "reply"):
        return []
    # GB/T 39734-2020: evaluation is voluntary and never steered, so the options carry no hint.
    intro = "服务评价：欢迎您对本次服务作出评价（自愿参加，评价人信息依法予以保护）。"
    return [_p(intro, st.note), Spacer(1, g.size * 0.3), _ChoiceRow(EVALUATION_LEVELS, g.size)]


# --------------------------------------------------------------------------- building blocks


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return _Para(_rich(text), style)


def _grid_style(g: _Geometry, label_cells: list[tuple[int, int]], spans: list[int], cols: int) -> TableStyle:
    cmds = [
        ("GRID", (0, 0), (-1, -1), 0.6, _LINE),
        ("FONT", (0, 0), (-1, -1), CJK_FONT, g.size),  # empty cells would select Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), g.pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), g.pad),
        ("TOPPADDING", (0, 0), (-1, -1), g.pad * 0.75),
        ("BOTTOMPADDING", (0, 0), (-1, -1), g.pad * 0.75),
    ]
    cmds += [("BACKGROUND", cell, cell, _SHADE) for cell in label_cells]
    cmds += [("SPAN", (1, r), (cols - 1, r)) for r in spans]
    return TableStyle(cmds)


def _field_table(fields: list[_Field], g: _Geometry, st: _Styles) -> Table:
    """Label/value form rows: two pairs per row on A4, one pair per row on narrow paper."""
    cw = g.content_width
    if g.columns == 4:
        value_w = (cw - 2 * g.label_width) / 2
        widths = [g.label_width, value_w, g.label_width, value_w]
    else:
        widths = [g.label_width, cw - g.label_width]
    rows: list[list] = []
    labels: list[tuple[int, int]] = []
    spans: list[int] = []

    def add_row(pairs: list[_Field]) -> None:
        cells: list = []
        for label, value, _ in pairs:
            labels.append((len(cells), len(rows)))
            cells += [_p(label, st.label), _p((value or "").strip() or "—", st.body)]
        if len(cells) < g.columns:
            spans.append(len(rows))
            cells += [""] * (g.columns - len(cells))
        rows.append(cells)

    pending: list[_Field] = []
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
    table.setStyle(_grid_style(g, labels, spans if g.columns == 4 else [], g.columns))
    return table


def _head_table(data: DocumentData, g: _Geometry, st: _Styles) -> Table:
    """办件编号 and 办理方式: the case number is never broken (it is read out and typed in).

    On A4/A5 the row gets its own column widths (a wide number cell, a narrow one for 即办/转办);
    on the roll each is a row of its own. A number too long even then shrinks, then breaks after a "-"."""
    cw = g.content_width
    number = _FitLine(data.case_number.strip() or "—", g.size, align="left", min_scale=0.75, after="-")
    mode = _p(data.mode or "—", st.body)
    if g.columns == 4:
        # The number cell as wide as the number needs (at least the usual half), the mode cell gets the rest.
        half = (cw - 2 * g.label_width) / 2
        mode_min = max(_text_width(data.mode or "", g.size), _text_width("转办", g.size)) + 2 * g.pad + 2
        number_w = min(max(half, _text_width(data.case_number.strip(), g.size) + 2 * g.pad + 4),
                       cw - 2 * g.label_width - mode_min)
        widths = [g.label_width, number_w, g.label_width, cw - 2 * g.label_width - number_w]
        rows = [[_p("办件编号", st.label), number, _p("办理方式", st.label), mode]]
        labels = [(0, 0), (2, 0)]
    else:
        widths = [g.label_width, cw - g.label_width]
        rows = [[_p("办件编号", st.label), number], [_p("办理方式", st.label), mode]]
        labels = [(0, 0), (0, 1)]
    table = Table(rows, colWidths=widths)
    table.setStyle(_grid_style(g, labels, [], len(widths)))
    return table


def _heading(text: str, g: _Geometry) -> Flowable:
    """A list's column heading; "需补正材料（共3项）" breaks only before its count, never inside it."""
    return _FitLine(text, g.size, min_scale=1.0, before="（")


def _section_table(header: list[str], body: list[list[str]], widths: list[float],
                   prose_cols: set[int], g: _Geometry, st: _Styles) -> Table:
    """A boxed list under one shaded header row (repeated on every page it flows onto).

    The list's name and count head the name column ("已收材料（共4项）"), so no separate title row
    takes up a line: completion slips and reply notices carry the materials too and still fit one A5 page.
    """
    rows = [[_heading(h, g) for h in header]]
    for line in body:
        rows.append([_p(cell, st.body if i in prose_cols else st.center) for i, cell in enumerate(line)])
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = _grid_style(g, [], [], len(widths))
    style.add("BACKGROUND", (0, 0), (-1, 0), _SHADE)
    table.setStyle(style)
    return table


def _materials_table(data: DocumentData, g: _Geometry, st: _Styles) -> Table:
    s = g.size
    seq_w, form_w, count_w = s * 2.4 + 2 * g.pad, _text_width(_FORM_WIDTH, s) + 2 * g.pad + 1, s * 2.4 + 2 * g.pad
    widths = [seq_w, g.content_width - seq_w - form_w - count_w, form_w, count_w]
    body = [[str(i), _scrub(m.name, data), m.form, str(m.count)] for i, m in enumerate(data.materials, 1)]
    if not body:
        body = [["—", "（无）", "—", "—"]]
    heading = f"已收材料（共{len(data.materials)}项）"
    return _section_table(["序号", heading, "形式", "份数"], body, widths, {1}, g, st)


def _missing_table(data: DocumentData, g: _Geometry, st: _Styles) -> Table:
    seq_w = g.size * 2.4 + 2 * g.pad
    rest = g.content_width - seq_w
    name_w = rest * (0.36 if g.columns == 4 else 0.4)
    widths = [seq_w, name_w, rest - name_w]
    body = [[str(i), _scrub(m.name, data), _scrub(m.standard, data)] for i, m in enumerate(data.missing, 1)]
    if not body:
        body = [["—", "（无）", "—"]]
    heading = f"需补正材料（共{len(data.missing)}项）"
    return _section_table(["序号", heading, "要求及标准"], body, widths, {1, 2}, g, st)


def _header(data: DocumentData, g: _Geometry, st: _Styles) -> list[Flowable]:
    """Committee, title, then the document number with a boxed 补打 mark on the right of reprints."""
    title = _FitLine(DOC_TITLES[data.doc_type], g.title_size, bold=True)
    parts: list[Flowable] = [_p(data.committee_name, st.header), title]
    text = f"编号：{data.doc_number}"
    number = _FitLine(text, g.size, align="left", min_scale=0.85, after="-")
    mark = reprint_label(data.reprint_count)
    if not mark:
        return parts + [number, Spacer(1, g.size * 0.6)]
    mark_w = _text_width(mark, g.size) + 4 * g.pad
    if _text_width(text, g.size) > g.content_width - mark_w - 2 * g.pad:  # narrow roll: mark on the next line
        parts.append(number)
        number = ""
    row = Table([[number, _FitLine(mark, g.size)]], colWidths=[g.content_width - mark_w, mark_w])
    row.setStyle(TableStyle([
        ("BOX", (1, 0), (1, 0), 1.0, _LINE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONT", (0, 0), (-1, -1), CJK_FONT, g.size),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("LEFTPADDING", (1, 0), (1, 0), g.pad * 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), g.pad * 2),
        ("TOPPADDING", (0, 0), (-1, -1), g.pad * 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), g.pad * 0.5),
    ]))
    return parts + [row, Spacer(1, g.size * 0.6)]


def _document_date(data: DocumentData) -> dt.datetime:
    if data.doc_type in ("completion", "reply"):
        return data.decided_at or data.printed_at
    return data.received_at


def _signature_cells(data: DocumentData, g: _Geometry, st: _Styles) -> tuple[list[Flowable], list[Flowable]]:
    who = "领取人（签字）：" if data.doc_type in ("completion", "reply") else "申请人（签字）："
    sign = [_p(who, st.body), Spacer(1, g.seal_height * 0.45), _p("日期：_____年___月___日", st.body)]
    seal = [
        _p("（盖章）", st.right),
        Spacer(1, g.seal_height * 0.3),
        _FitLine(data.committee_name, g.size, align="right"),
        _FitLine(fmt_date(_document_date(data)), g.size, align="right"),
    ]
    return sign, seal


def _qr_caption(data: DocumentData) -> list[str]:
    return ["扫码查验"] + ([f"验证码：{data.verification_code.strip()}"] if data.verification_code.strip() else [])


def _qr_width(data: DocumentData, g: _Geometry) -> float:
    """The QR column: the code's size, or wider when the verification code line needs it."""
    small = g.size * 0.85
    return max([g.qr_size] + [_text_width(line, small) + 2 for line in _qr_caption(data)])


def _qr_cell(data: DocumentData, g: _Geometry, st: _Styles) -> list[Flowable]:
    if not data.case_number:
        return []
    small = g.size * 0.85
    caption = [_FitLine(line, small, min_scale=0.85, color=_GREY) for line in _qr_caption(data)]
    return [_qr(qr_payload(data), g.qr_size), *caption]


def _footer_block(data: DocumentData, g: _Geometry, st: _Styles) -> list[Flowable]:
    """QR code, applicant signature and the committee's seal area at the foot of the document."""
    sign, seal = _signature_cells(data, g, st)
    qr = _qr_cell(data, g, st)
    plain = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("FONT", (0, 0), (-1, -1), CJK_FONT, g.size),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    if g.height is None:  # roll: stack everything, QR last and centred
        table = Table([[sign], [seal]] + ([[qr]] if qr else []), colWidths=[g.content_width])
        plain.add("ALIGN", (0, 2), (0, 2), "CENTER")
        plain.add("TOPPADDING", (0, 1), (0, -1), g.size)
        table.setStyle(plain)
        return [Spacer(1, g.size), table]
    qr_w = _qr_width(data, g) + 2 * g.pad
    sign_w = (g.content_width - qr_w) * 0.45
    table = Table([[qr, sign, seal]], colWidths=[qr_w, sign_w, g.content_width - qr_w - sign_w])
    plain.add("ALIGN", (0, 0), (0, 0), "CENTER")
    plain.add("LEFTPADDING", (1, 0), (1, 0), g.pad * 3)
    table.setStyle(plain)
    return [Spacer(1, g.size * 1.2), KeepTogether([table])]


def _printed_text(data: DocumentData) -> str:
    text = f"打印时间：{fmt_datetime(data.printed_at)}"
    if data.reprint_count > 0:
        text += f"　{reprint_label(data.reprint_count)}"
    return text


def _story(data: DocumentData, g: _Geometry) -> list[Flowable]:
    st = _Styles(g)
    story = _header(data, g, st)
    story += [_head_table(data, g, st), _field_table(_fields_before(data), g, st)]
    if data.doc_type == "notice":  # "现一次性告知如下": the list follows the sentence
        story += [_p(_statement(data), st.note), Spacer(1, g.size * 0.5), _missing_table(data, g, st)]
    # Every document lists what was handed in (name, original/copy, count); "（无）" when nothing was.
    story.append(_materials_table(data, g, st))
    story.append(_field_table(_fields_after(data), g, st))
    if _statement(data) and data.doc_type != "notice":
        story.append(_p(_statement(data), st.note))
    story += _evaluation(data, st, g)
    story += _footer_block(data, g, st)
    if g.height is None:  # paged layouts print this in the page footer
        story += [Spacer(1, g.size * 0.8), _p(_printed_text(data), st.small)]
    return story


# --------------------------------------------------------------------------- rendering


def _canvas_class(footer: tuple[str, str] | None, g: _Geometry):
    """A canvas that, given a (left, right) footer, writes it and "第 i 页 / 共 n 页" on every page."""

    class _DocumentCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            if footer is None:
                super().showPage()
                return
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            size, y = g.size * 0.8, g.margin_y * 0.35
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                right = f"{footer[1]}　第 {number} 页 / 共 {total} 页"
                right_w = _text_width(right, size)
                # Too long for one line: the left part moves up into the bottom margin.
                left_y = y if _text_width(footer[0], size) + right_w + size * 2 <= g.content_width else y + size * 1.25
                self.setFillColor(_GREY)
                _draw_runs(self, g.margin_x, left_y, footer[0], size)
                _draw_runs(self, g.width - g.margin_x - right_w, y, right, size)
                super().showPage()
            super().save()

    return _DocumentCanvas


def _roll_height(story: list[Flowable], g: _Geometry) -> float:
    """Height of the roll: the sum of what the flowables need (an upper bound: spaces do not collapse)."""
    total = 0.0
    for i, flowable in enumerate(story):
        _, h = flowable.wrap(g.content_width, _MAX_ROLL_HEIGHT)
        total += h + flowable.getSpaceAfter() + (flowable.getSpaceBefore() if i else 0)
    return min(_MAX_ROLL_HEIGHT, total + 2 * g.margin_y + 3 * mm)


def render(data: DocumentData, layout: str) -> bytes:
    """The document as PDF bytes; identical data gives identical bytes."""
    if data.doc_type not in DOC_TITLES:
        raise ValueError(f"unknown document type: {data.doc_type!r}")
    if layout not in _GEOMETRIES:
        raise ValueError(f"unknown layout: {layout!r} (expected one of {', '.join(LAYOUTS)})")
    ensure_fonts()
    g = _GEOMETRIES[layout]
    story = _story(data, g)
    height = g.height if g.height is not None else _roll_height(story, g)
    buf = io.BytesIO()
    title = DOC_TITLES[data.doc_type]
    doc = BaseDocTemplate(
        buf, pagesize=(g.width, height), leftMargin=g.margin_x, rightMargin=g.margin_x,
        topMargin=g.margin_y, bottomMargin=g.margin_y, invariant=1, title=f"{title} {data.doc_number}",
        author=data.committee_name, creator="OneDesk", subject=title,
        # Otherwise reportlab references an unembedded Helvetica in every page's preamble.
        initialFontName=CJK_FONT,
    )
    frame = Frame(g.margin_x, g.margin_y, g.content_width, height - 2 * g.margin_y,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    footer = None
    if g.height is not None:  # a roll has no pages to number
        footer = (_printed_text(data), data.doc_number)
    doc.build(story, canvasmaker=_canvas_class(footer, g))
    return buf.getvalue()


# --------------------------------------------------------------------------- demo data


def sample_document(doc_type: str) -> DocumentData:
    """Realistic demo data for previews, tests and the demo app (the ID is the GB 11643 example)."""
    if doc_type not in DOC_TITLES:
        raise ValueError(f"unknown document type: {doc_type!r}")
    received = dt.datetime(2025, 1, 24, 10, 30, tzinfo=CST)
    base = dict(
        doc_type=doc_type,
        committee_name="北京市西城区新街口街道玉桃园社区居民委员会",
        committee_phone="010-66181234",
        committee_address="北京市西城区新街口街道玉桃园三区12号楼一层社区服务站",
        case_number="110102003-D01-20250124-0007",
        item_code="MZ-0203",
        item_name="城乡居民基本养老保险待遇申领",
        mode="转办",
        department="新街口街道社会保障事务所",
        applicant_name="张秀兰",
        applicant_id_number="11010519491231002X",
        applicant_phone="13800138000",
        agent_name=None,
        received_at=received,
        materials=[
            MaterialLine("居民身份证", "原件及复印件", 1),
            MaterialLine("居民户口簿（户主页及本人页）", "复印件", 1),
            MaterialLine("社会保障卡", "复印件", 1),
            MaterialLine("近期一寸免冠彩色照片", "原件", 2),
        ],
        missing=[],
        deadline=dt.datetime(2025, 1, 27, 17, 30, tzinfo=CST),
        deadline_provisional=False,
        deadline_note="",
        worker_name="李明",
        worker_phone="010-66181235",
        result="",
        result_approved=None,
        refusal_reason="",
        redirect_to="",
        delivery="办理结果由社区电话通知，请凭本回执到社区服务站领取。",
        progress_query="扫描本回执二维码，或致电社区服务站 010-66181234（工作日 9:00—17:30）查询办理进度。",
        appeal_route="",
        verification_code="7K3Q9D2M",
        reprint_count=0,
        printed_at=received + dt.timedelta(minutes=4),
    )
    base.update(_SAMPLE_OVERRIDES[doc_type](received))
    prefix = {"receipt": "SL", "notice": "GZ", "refusal": "BY", "completion": "BJ", "reply": "DF"}[doc_type]
    base["doc_number"] = f"{prefix}-{base['case_number']}"
    return DocumentData(**base)


_SAMPLE_OVERRIDES = {
    "receipt": lambda received: {},
    "notice": lambda received: dict(
        materials=[MaterialLine("居民身份证", "原件及复印件", 1)],
        missing=[
            MissingMaterial("居民户口簿", "户主页及本人页复印件各 1 份，A4 纸，字迹清晰"),
            MissingMaterial("近期一寸免冠彩色照片", "白底，近 6 个月内拍摄，2 张"),
            MissingMaterial("社会保障卡", "本人社会保障卡正反面复印件 1 份"),
        ],
        deadline=None,
    ),
    "refusal": lambda received: dict(
        item_code="GA-0801",
        item_name="普通护照申领",
        mode="即办",
        department="",
        materials=[],
        deadline=None,
        refusal_reason="普通护照须由申请人本人到公安机关出入境管理部门申请并现场采集指纹和照片，不属于社区居民委员会代收代办范围。",
        redirect_to="西城区公安分局出入境接待大厅（西城区西直门南大街2号），也可通过国家移民管理局政务服务平台网上预约。",
        delivery="",
        progress_query="",
    ),
    "completion": lambda received: dict(
        result="经新街口街道社会保障事务所审核，您符合城乡居民基本养老保险待遇领取条件，自2025年2月起按月发放至本人社会保障卡。",
        result_approved=True,
        delivery="请于工作日 9:00—17:30 携本人居民身份证到社区服务站领取待遇核定通知书，也可委托他人凭委托书代领。",
        decided_at=dt.datetime(2025, 1, 27, 15, 10, tzinfo=CST),
        printed_at=dt.datetime(2025, 1, 28, 9, 5, tzinfo=CST),
    ),
    "reply": lambda received: dict(
        item_code="ZJ-0105",
        item_name="公共租赁住房备案申请",
        department="西城区住房和城市建设委员会",
        result="经区住房保障部门审核，您家庭在本市名下已有住房一套，人均住房面积高于15平方米，不符合公共租赁住房备案条件，不予备案。",
        result_approved=False,
        delivery="本告知由社区服务站当面送达；纸质答复可于工作日到社区服务站领取。",
        appeal_route="如对答复有异议，可自收到本告知之日起60日内向西城区人民政府申请行政复议，或在6个月内向西城区人民法院提起行政诉讼。",
        decided_at=dt.datetime(2025, 1, 27, 16, 0, tzinfo=CST),
        printed_at=dt.datetime(2025, 1, 28, 9, 20, tzinfo=CST),
    ),
}
