"""After an outcome: produce the document (off the UI thread), then preview and print it."""

from __future__ import annotations

from ui.operations import run_op
from ui.printing.print_preview_dialog import PrintPreviewDialog


def show_document(parent, services, case_id, doc_type: str | None = None, reprint_reason: str = "",
                  on_shown=None) -> None:
    actor = services.current_worker

    def produce():
        layout, printer = services.printing.settings()
        return services.printing.produce(actor, case_id, doc_type, layout, reprint_reason), printer

    def shown(result):
        document, printer = result
        dlg = PrintPreviewDialog(services, document, printer, parent)
        dlg.open()
        if on_shown:
            on_shown(dlg)
    run_op(parent, produce, shown)
