"""One window per case: opening a case that already has a window raises that window (and re-reads the case).

Owned by the :class:`~ui.services.Services` facade of one desk (not a global), so every page that opens a case
— the worklist, a link in another list, the residents page — goes through the same registry. The registry also
forwards a window's 继续办理 to whoever resumes drafts (the main window).
A 诉求 (issue 20) opens in its own window (ui/requests/request_window.py): by the kind the list knows, or, when
the opener does not know it, the case window hands over to it as soon as it has read the case.
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from app.core.vocabulary import CaseKind

REQUEST = str(CaseKind.REQUEST)


class CaseWindows(QObject):
    resume_requested = Signal(object)  # case id: 继续办理 pressed in a case window

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self._open: dict[uuid.UUID, object] = {}

    def open(self, case_id, parent=None, *, kind: str | None = None):
        """The case's window, raised; a new one (child of ``parent``) when it has none. ``kind``: "request" for a
        诉求 (its own window), else the case window (which hands a 诉求 over once it has read it)."""
        from ui.cases.case_dialog import CaseDialog
        dlg = self.window_for(case_id)
        if dlg is not None:
            if not dlg.isVisible():
                dlg.show()
            dlg.raise_()
            dlg.activateWindow()
            dlg.refresh()
            return dlg
        if kind == REQUEST:
            from ui.requests.request_window import RequestWindow
            dlg = RequestWindow(self.services, case_id, parent)
        else:
            dlg = CaseDialog(self.services, case_id, parent)
        self._open[case_id] = dlg
        dlg.finished.connect(lambda _r, cid=case_id, d=dlg: self._on_finished(cid, d))
        dlg.resume_requested.connect(self.resume_requested.emit)
        dlg.open()
        return dlg

    def reopen_as_request(self, dlg):
        """A case window that found its case to be a 诉求: closed, and the request's window opened instead."""
        case_id, parent = dlg.case_id, dlg.parent()
        self._open.pop(case_id, None)
        dlg.reject()
        return self.open(case_id, parent, kind=REQUEST)

    def window_for(self, case_id):
        dlg = self._open.get(case_id)
        if dlg is not None and not isValid(dlg):
            self._open.pop(case_id, None)
            return None
        return dlg

    def windows(self) -> list:
        return [d for d in self._open.values() if isValid(d)]

    def _on_finished(self, case_id, dlg) -> None:
        if self._open.get(case_id) is dlg:
            del self._open[case_id]
        dlg.deleteLater()
