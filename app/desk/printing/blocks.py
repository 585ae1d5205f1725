"""Content blocks several document kinds share: the header, the case number row, applicant and contact rows,
the material lists, and the foot with QR code, signature and seal. Each kind picks and orders them."""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from app.desk.printing.data import DocumentData, qr_payload, reprint_label
from app.desk.printing.flowables import Field, Sheet, grid_style, qr_code, section_table
from app.desk.printing.layout import GREY, LINE
from app.desk.printing.wording import fmt_date, fmt_datetime, scrub
from forms.identity import mask_id, mask_phone

_FORM_WIDTH = "原件及复印件"  # the widest entry of the materials table's 形式 column


def header(data: DocumentData, title: str, sheet: Sheet) -> list[Flowable]:
    """Committee, title, then the document number with a boxed 补打 mark on the right of reprints."""
    g = sheet.g
    parts: list[Flowable] = [sheet.para(data.committee_name, sheet.st.header),
                             sheet.fit(title, g.title_size, bold=True)]
    text = f"编号：{data.doc_number}"
    number = sheet.fit(text, g.size, align="left", min_scale=0.85, after="-")
    mark = reprint_label(data.reprint_count)
    if not mark:
        return parts + [number, Spacer(1, g.size * 0.6)]
    mark_w = sheet.width(mark) + 4 * g.pad
    beside: Flowable | str = number
    if sheet.width(text) > g.content_width - mark_w - 2 * g.pad:  # narrow roll: mark on the next line
        parts.append(number)
        beside = ""
    row = Table([[beside, sheet.fit(mark, g.size)]], colWidths=[g.content_width - mark_w, mark_w])
    row.setStyle(TableStyle([
        ("BOX", (1, 0), (1, 0), 1.0, LINE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONT", (0, 0), (-1, -1), sheet.fonts.cjk, g.size),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("LEFTPADDING", (1, 0), (1, 0), g.pad * 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), g.pad * 2),
        ("TOPPADDING", (0, 0), (-1, -1), g.pad * 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), g.pad * 0.5),
    ]))
    return parts + [row, Spacer(1, g.size * 0.6)]


def head_table(data: DocumentData, sheet: Sheet) -> Table:
    """办件编号 and 办理方式: the case number is never broken (it is read out and typed in).

    On A4/A5 the row gets its own column widths (a wide number cell, a narrow one for 即办/转办);
    on the roll each is a row of its own. A number too long even then shrinks, then breaks after a "-"."""
    g, st = sheet.g, sheet.st
    cw = g.content_width
    number = sheet.fit(data.case_number.strip() or "—", g.size, align="left", min_scale=0.75, after="-")
    mode = sheet.para(data.mode or "—", st.body)
    if g.columns == 4:
        # The number cell as wide as the number needs (at least the usual half), the mode cell gets the rest.
        half = (cw - 2 * g.label_width) / 2
        mode_min = max(sheet.width(data.mode or ""), sheet.width("转办")) + 2 * g.pad + 2
        number_w = min(max(half, sheet.width(data.case_number.strip()) + 2 * g.pad + 4),
                       cw - 2 * g.label_width - mode_min)
        widths = [g.label_width, number_w, g.label_width, cw - 2 * g.label_width - number_w]
        rows = [[sheet.para("办件编号", st.label), number, sheet.para("办理方式", st.label), mode]]
        labels = [(0, 0), (2, 0)]
    else:
        widths = [g.label_width, cw - g.label_width]
        rows = [[sheet.para("办件编号", st.label), number], [sheet.para("办理方式", st.label), mode]]
        labels = [(0, 0), (0, 1)]
    table = Table(rows, colWidths=widths)
    table.setStyle(grid_style(sheet, labels, [], len(widths)))
    return table


def item_field(data: DocumentData) -> Field:
    code = f"（事项编码：{data.item_code}）" if data.item_code else ""
    return ("申请事项", f"{data.item_name}{code}", True)


def applicant_fields(data: DocumentData) -> list[Field]:
    """Who applied; ID and phone masked here, whatever the caller handed over."""
    fields: list[Field] = [
        ("申请人", data.applicant_name, False),
        ("身份证号", mask_id(data.applicant_id_number), False),
        ("联系电话", mask_phone(data.applicant_phone), False),
        ("代办人", _agent_text(data), False),
    ]
    if data.agent_name and (data.agent_id_number or data.agent_phone):  # the agent masked like the applicant
        fields += [("代办人身份证号", mask_id(data.agent_id_number) or "—", False),
                   ("代办人电话", mask_phone(data.agent_phone) or "—", False)]
    return fields


def _agent_text(data: DocumentData) -> str:
    if not data.agent_name:
        return "无"
    return f"{data.agent_name}（{data.agent_relation}）" if data.agent_relation else data.agent_name


def department_field(data: DocumentData) -> Field:
    """承办部门: where the case went; a long name (街道民政办（社会救助窗口）) gets a row of its own rather than
    breaking inside a half-row cell."""
    return ("承办部门", data.department, len(data.department) > 8)


def contact_fields(data: DocumentData) -> list[Field]:
    """The worker and the committee; the worker's phone only when it is not the committee's own."""
    worker = [("经办人", data.worker_name, False)]
    if data.worker_phone.strip() and data.worker_phone.strip() != data.committee_phone.strip():
        worker.append(("经办人电话", data.worker_phone, False))
    return worker + [("社区电话", data.committee_phone, False), ("社区地址", data.committee_address, True)]


def materials_table(data: DocumentData, sheet: Sheet) -> Table:
    """What was handed in (name, original/copy, count); "（无）" when nothing was."""
    g, s = sheet.g, sheet.g.size
    seq_w, form_w, count_w = s * 2.4 + 2 * g.pad, sheet.width(_FORM_WIDTH) + 2 * g.pad + 1, s * 2.4 + 2 * g.pad
    widths = [seq_w, g.content_width - seq_w - form_w - count_w, form_w, count_w]
    body = [[str(i), scrub(m.name, data), m.form, str(m.count)] for i, m in enumerate(data.materials, 1)]
    if not body:
        body = [["—", "（无）", "—", "—"]]
    heading = f"已收材料（共{len(data.materials)}项）"
    return section_table(["序号", heading, "形式", "份数"], body, widths, {1}, sheet)


def missing_table(data: DocumentData, sheet: Sheet) -> Table:
    """What is still missing, each with the standard it must meet."""
    g = sheet.g
    seq_w = g.size * 2.4 + 2 * g.pad
    rest = g.content_width - seq_w
    name_w = rest * (0.36 if g.columns == 4 else 0.4)
    widths = [seq_w, name_w, rest - name_w]
    body = [[str(i), scrub(m.name, data), scrub(m.standard, data)] for i, m in enumerate(data.missing, 1)]
    if not body:
        body = [["—", "（无）", "—"]]
    heading = f"需补正材料（共{len(data.missing)}项）"
    return section_table(["序号", heading, "要求及标准"], body, widths, {1, 2}, sheet)


def pairs_table(heading: str, value_heading: str, pairs: tuple[tuple[str, str], ...], data: DocumentData,
                sheet: Sheet) -> Table:
    """Numbered label/value rows under one heading (a form's answers, what a certificate rests on): unlike the
    field grid, a long question label gets two fifths of the width instead of a narrow label cell."""
    g = sheet.g
    seq_w = g.size * 2.4 + 2 * g.pad
    rest = g.content_width - seq_w
    label_w = rest * (0.4 if g.columns == 4 else 0.42)
    body = [[str(i), scrub(label, data), scrub(value, data) or "—"] for i, (label, value) in enumerate(pairs, 1)]
    if not body:
        body = [["—", "（无）", "—"]]
    return section_table(["序号", f"{heading}（共{len(pairs)}项）", value_heading], body,
                         [seq_w, label_w, rest - label_w], {1, 2}, sheet)


def note(text: str, sheet: Sheet) -> Flowable:
    """A paragraph of running text between the tables (a document's statement, the evaluation intro)."""
    return sheet.para(text, sheet.st.note)


def printed_text(data: DocumentData) -> str:
    text = f"打印时间：{fmt_datetime(data.printed_at)}"
    if data.reprint_count > 0:
        text += f"　{reprint_label(data.reprint_count)}"
    return text


# --------------------------------------------------------------------------- the foot


def _signature_cells(data: DocumentData, signer: str, dated: dt.datetime,
                     sheet: Sheet) -> tuple[list[Flowable], list[Flowable]]:
    g, st = sheet.g, sheet.st
    sign = [sheet.para(signer, st.body), Spacer(1, g.seal_height * 0.45),
            sheet.para("日期：_____年___月___日", st.body)]
    seal = [
        sheet.para("（盖章）", st.right),
        Spacer(1, g.seal_height * 0.3),
        sheet.fit(data.committee_name, g.size, align="right"),
        sheet.fit(fmt_date(dated), g.size, align="right"),
    ]
    return sign, seal


def _qr_caption(data: DocumentData) -> list[str]:
    """Under the code: what it is for (the progress, and the rating the QR page takes: 好差评 later), and the
    verification code to read out or type (the number is above)."""
    code = data.verification_code.strip()
    return ["扫码查进度、评价" if data.verify_url else "扫码查验"] + ([f"验证码：{code}"] if code else [])


def _qr_width(data: DocumentData, sheet: Sheet) -> float:
    """The QR column: the code's size, or wider when the verification code line needs it."""
    small = sheet.g.size * 0.85
    return max([sheet.g.qr_size] + [sheet.width(line, small) + 2 for line in _qr_caption(data)])


def _qr_cell(data: DocumentData, sheet: Sheet) -> list[Flowable]:
    if not data.case_number:
        return []
    small = sheet.g.size * 0.85
    caption = [sheet.fit(line, small, min_scale=0.85, color=GREY) for line in _qr_caption(data)]
    return [qr_code(qr_payload(data), sheet.g.qr_size), *caption]


def footer_block(data: DocumentData, signer: str, dated: dt.datetime, sheet: Sheet) -> list[Flowable]:
    """QR code, the ``signer``'s signature line and the committee's seal (dated ``dated``) at the foot."""
    g = sheet.g
    sign, seal = _signature_cells(data, signer, dated, sheet)
    qr = _qr_cell(data, sheet)
    plain = TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("FONT", (0, 0), (-1, -1), sheet.fonts.cjk, g.size),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    if g.is_roll:  # roll: stack everything, QR last and centred
        table = Table([[sign], [seal]] + ([[qr]] if qr else []), colWidths=[g.content_width])
        plain.add("ALIGN", (0, 2), (0, 2), "CENTER")
        plain.add("TOPPADDING", (0, 1), (0, -1), g.size)
        table.setStyle(plain)
        return [Spacer(1, g.size), table]
    qr_w = _qr_width(data, sheet) + 2 * g.pad
    sign_w = (g.content_width - qr_w) * 0.45
    table = Table([[qr, sign, seal]], colWidths=[qr_w, sign_w, g.content_width - qr_w - sign_w])
    plain.add("ALIGN", (0, 0), (0, 0), "CENTER")
    plain.add("LEFTPADDING", (1, 0), (1, 0), g.pad * 3)
    table.setStyle(plain)
    return [Spacer(1, g.size * 1.2), KeepTogether([table])]
