"""After an outcome: produce the document (off the UI thread), then preview and print it."""

from __future__ import annotations

from ui.operations import run_op
from ui.printing.print_preview_dialog import PrintPreviewDialog


def show_document(parent, services, case_id, doc_type: str | None = None, reprint_reason: str = "",
                  on_shown=None, on_closed=None) -> None:
    """Produce the document and open its preview (a preview is no print job: app/desk/printing/service.py);
    ``on_shown(dialog)`` once it is open, ``on_closed()`` once it is closed, however."""
    actor = services.current_worker

    def produce():
        layout, printer = services.printing.settings()
        return services.printing.produce(actor, case_id, doc_type, layout, reprint_reason), printer

    def shown(result):
        document, printer = result
        dlg = PrintPreviewDialog(services, document, printer, parent)
        if on_closed is not None:
            dlg.finished.connect(lambda _r: on_closed())
        dlg.open()
        if on_shown:
            on_shown(dlg)
    run_op(parent, produce, shown)
