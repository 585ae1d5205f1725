"""The document kinds, one module each, looked up by :class:`app.core.vocabulary.DocKind`.

Adding a kind means a ``DocKind`` member with its title, a module here and a line in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from app.core.vocabulary import DocKind
from app.desk.printing.kinds.application import ApplicationKind
from app.desk.printing.kinds.base import DocumentKind
from app.desk.printing.kinds.certificate import CertificateKind
from app.desk.printing.kinds.completion import CompletionKind
from app.desk.printing.kinds.flexible import MakeupNoticeKind, PledgeKind
from app.desk.printing.kinds.notice import NoticeKind
from app.desk.printing.kinds.packet import PacketKind
from app.desk.printing.kinds.receipt import ReceiptKind
from app.desk.printing.kinds.refusal import RefusalKind
from app.desk.printing.kinds.reply import ReplyKind
from app.desk.printing.kinds.request_slip import RequestSlipKind

# A fixed table (read-only), not a registry modules add themselves to.
KINDS: Mapping[DocKind, DocumentKind] = MappingProxyType(
    {k.kind: k() for k in (ReceiptKind, CompletionKind, NoticeKind, RefusalKind, ReplyKind, CertificateKind,
                           ApplicationKind, MakeupNoticeKind, PledgeKind, PacketKind, RequestSlipKind)}
)


def kind_for(doc_type: str) -> DocumentKind:
    """The kind of ``doc_type`` (a ``DocKind`` or its value); ValueError for any other name."""
    try:
        return KINDS[DocKind(doc_type)]
    except ValueError:
        raise ValueError(f"unknown document type: {doc_type!r}") from None


__all__ = ["KINDS", "DocumentKind", "kind_for"]
