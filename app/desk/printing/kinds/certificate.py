"""证明: the fact the committee checked, certified under its seal, with the retained-list entry and the records it
rests on (the committee keeps the stub: its archived copy and print record)."""

from __future__ import annotations

import datetime as dt

from reportlab.platypus import Flowable, Spacer

from app.core.vocabulary import DocKind
from app.desk.printing import blocks
from app.desk.printing.data import DocumentData
from app.desk.printing.flowables import Sheet
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.wording import scrub


class CertificateKind(DocumentKind):
    kind = DocKind.CERTIFICATE
    number_prefix = "ZM"
    signer = "领取人（签字）："
    lists_materials = False

    def document_date(self, data: DocumentData) -> dt.datetime:
        return data.decided_at or data.printed_at  # issued when the case was resolved

    def lead_blocks(self, data: DocumentData, sheet: Sheet) -> list[Flowable]:
        """The certifying text, then what it rests on: the retained-list entry, how and where it was checked."""
        return [blocks.note(scrub(data.certificate_text, data) or "—", sheet), blocks.note("特此证明。", sheet),
                Spacer(1, sheet.g.size * 0.5), blocks.pairs_table("证明依据", "内容", data.basis, data, sheet),
                Spacer(1, sheet.g.size * 0.5)]

    def statement(self, data: DocumentData) -> str:
        return ("说明：本证明依据本地保留证明事项清单出具，只证明经本居委会核实的上述事实，"
                "所依据的清单条目及核实记录见上表；存根由本居委会留存备查。")
