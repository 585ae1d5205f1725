"""After 诉求登记: the 诉求受理单's preview when the desk can print one for the request (DocKind REQUEST_SLIP),
else the request's window; photos that could not be added are said either way."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app.core.vocabulary import DocKind
from ui.printing.flow import show_document

REQUEST_SLIP = getattr(DocKind, "REQUEST_SLIP", None)


def after_registration(parent, services, detail, photo_problems=()) -> None:
    case_id = detail.summary.id
    if photo_problems:
        QMessageBox.warning(parent, "照片未添加", "诉求已登记，以下照片未能添加，可在诉求窗口中重新添加：\n"
                            + "\n".join(photo_problems))
    if REQUEST_SLIP is not None and REQUEST_SLIP in tuple(detail.documents):
        show_document(parent, services, case_id, str(REQUEST_SLIP))
    else:
        services.case_windows.open(case_id, parent)
