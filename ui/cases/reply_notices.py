"""收到答复 (issue 19): the front desk is told in the status bar when a department's reply arrives.

A reply reaches this desk by a sync round or from a colleague replying on this same desk (after a login switch);
either way the cases change on the change bus, and at every login the worker is told what is still unread. What
counts as unread is the desk's own record (``case_reply_seen``: a reply is read once a worker who informs the
resident opens the case); this object only words it and says it once per reply and login.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from ui.operations import run_op

SENT_TAB = "本窗口转出"


def notice_text(total: int, notices) -> str:
    """"收到答复：<case number> <item>（<result>）", or the newest and how many more, and where to find them."""
    first = notices[0]
    said = f"{first.case_number} {first.item_name}" + (f"（{first.reply_label}）" if first.reply_label else "")
    if total <= 1:
        return f"收到答复：{said}，请告知居民"
    return f"收到答复：{said} 等 {total} 件，见“待办 › {SENT_TAB}”"


class ReplyNotices(QObject):
    """Emits ``announced(text)`` when unread replies the worker has not been told of this login appear (or the
    unread ones change), and ``cleared()`` once none is unread."""

    announced = Signal(str)
    cleared = Signal()

    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self._told: set[tuple] = set()
        self._worker_id = None
        self.last_text = ""
        services.change_bus.changed.connect(self._on_data_changed)

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if changes.cases:
            self.check()

    def check(self) -> None:
        """Ask the worklist service for the unread replies (off the UI thread) and tell the new ones."""
        worker = self.services.current_worker
        if worker is None:
            return
        if worker.id != self._worker_id:  # a new login is told again what is still unread
            self._worker_id, self._told = worker.id, set()
        svc = self.services.worklist
        run_op(self, lambda: svc.replies_to_read(worker), lambda res, w=worker.id: self._on_replies(w, res),
               lambda _m: None)

    def _on_replies(self, worker_id, result) -> None:
        if worker_id != self._worker_id:
            return  # answered for a worker who has logged out meanwhile
        total, notices = result
        if not notices:
            if self.last_text:
                self.last_text = ""
                self.cleared.emit()
            return
        keys = {(n.case_id, n.replied_at) for n in notices}
        text, new = notice_text(total, notices), not keys <= self._told
        self._told |= keys
        if new or text != self.last_text:  # a new reply, or one was read and the notice names the others now
            self.last_text = text
            self.announced.emit(text)
