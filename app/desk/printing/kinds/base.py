"""What every document kind has in common: the order of its blocks, and the hooks a kind fills in."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from reportlab.platypus import Flowable, Spacer

from app.core.vocabulary import DOC_TITLES, DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Field, Sheet, field_table


class DocumentKind:
    """One printed document: its title, number and the content it shows.

    :meth:`story` lays out the frame all five share (header, case number, applicant, materials, contacts,
    signature and seal); a subclass contributes its own rows, wording and extra blocks through the hooks.
    The ``delivery_wording``/``result_text``/``approval`` hooks tell the print service what the kind needs
    from a case. Kinds hold no state: one instance of each serves every document.
    """

    kind: ClassVar[DocKind]
    number_prefix: ClassVar[str]  # 文书编号 = prefix + case number, e.g. "SL-…" for a 受理回执
    signer: ClassVar[str] = "申请人（签字）："
    lists_materials: ClassVar[bool] = True  # the materials table; a 证明 speaks of facts, not of papers

    @property
    def title(self) -> str:
        return DOC_TITLES[self.kind]

    def doc_number(self, case_number: str) -> str:
        return f"{self.number_prefix}-{case_number}"

    # ------------------------------------------------------------------ what the kind takes from a case

    def delivery_wording(self, inform_method: str | None) -> str:
        """结果送达/领取方式: how the applicant gets the result (``inform_method``: how they were told)."""
        return ""

    def result_text(self, *, resolution: str, reply: str) -> str:
        """The result it prints: the department's reply unless the kind says otherwise."""
        return reply

    def approval(self, reply_approved: bool | None) -> bool | None:
        """Whether the result it prints grants the application (None: it prints no decision)."""
        return None

    # ------------------------------------------------------------------ content hooks

    def document_date(self, data: DocumentData) -> dt.datetime:
        """The date beside the committee's seal."""
        return data.received_at

    def case_fields(self, data: DocumentData) -> list[Field]:
        """The kind's own rows after the applicant's, above the materials table."""
        return []

    def outcome_fields(self, data: DocumentData) -> list[Field]:
        """The kind's own rows below the materials table, before the contacts."""
        return []

    def statement(self, data: DocumentData) -> str:
        """The document's sentence to the applicant ("" for none)."""
        return ""

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """Blocks between the applicant's rows and the materials table."""
        return []

    def statement_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """Where the statement goes by default: after the contacts."""
        text = self.statement(data)
        return [blocks.note(text, sheet)] if text else []

    def closing_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """Blocks just above the signature and seal."""
        return []

    # ------------------------------------------------------------------ the frame

    def story(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """Every block of the document in reading order, for ``sheet``'s layout."""
        fields_before = [blocks.item_field(data), *blocks.applicant_fields(data), *self.case_fields(data)]
        fields_after = self.outcome_fields(data) + blocks.contact_fields(data)
        story = blocks.header(data, self.title, sheet)
        story += [blocks.head_table(data, sheet), field_table(fields_before, sheet)]
        story += self.lead_blocks(data, sheet)
        if self.lists_materials:  # every case document lists what was handed in
            story.append(blocks.materials_table(data, sheet))
        story.append(field_table(fields_after, sheet))
        story += self.statement_blocks(data, sheet)
        story += self.closing_blocks(data, sheet)
        story += blocks.footer_block(data, self.signer, self.document_date(data), sheet)
        if sheet.g.is_roll:  # paged layouts print this in the page footer
            story += [Spacer(1, sheet.g.size * 0.8), sheet.para(blocks.printed_text(data), sheet.st.small)]
        return story
