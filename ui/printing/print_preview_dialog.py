"""Preview a document (Qt PDF view) and print it; a printer failure leaves the job in the to-print list."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ui.operations import run_op
from ui.printing.qt_printing import PrinterFailure, load_pdf, print_pdf, printer_for
from ui.screen_fit import resize_to_fit


class PrintPreviewDialog(QDialog):
    printed = Signal(bool, str)  # ok, printer name or failure reason

    def __init__(self, services, document, printer_name: str | None = None, parent=None):
        """``document`` is an app.desk.printing.service.PrintedDocument (archived; a print job only once printing
        is attempted or 稍后打印 is chosen: a preview closed otherwise leaves nothing in 待打印, issue 19)."""
        super().__init__(parent)
        self.services, self.document, self.printer_name = services, document, printer_name
        self.setWindowTitle(f"打印预览 — {document.case_number}")
        self._fit_screen()
        self.pdf, self._buf = load_pdf(document.pdf, self)
        self.view = QPdfView(self)
        self.view.setDocument(self.pdf)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        label = "补打" if document.reprint_count else "原件"
        self.status = QLabel(f"{label}；共 {self.pdf.pageCount()} 页。选“稍后打印”可放入“待打印”，稍后再打印。")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.print_button = QPushButton("打印…")
        self.quick_button = QPushButton("直接打印")
        self.later_button = QPushButton("稍后打印")
        self.print_button.setObjectName("primary")
        for b in (self.later_button, self.quick_button, self.print_button):
            b.setAutoDefault(False)  # Enter is 打印 wherever the focus is, never 稍后打印
        self.print_button.setDefault(True)
        self.print_button.clicked.connect(self._on_print_clicked)
        self.quick_button.clicked.connect(self._on_quick_clicked)
        self.later_button.clicked.connect(self._on_later_clicked)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        for b in (self.later_button, self.quick_button, self.print_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.setTabOrder(self.print_button, self.quick_button)  # Tab from 打印 in reading order of importance
        self.setTabOrder(self.quick_button, self.later_button)
        self.print_button.setFocus()

    def _fit_screen(self) -> None:
        """720×820 (a page at a readable size) where the screen allows; on a 1024×768 screen it fits."""
        self.setMinimumSize(480, 400)
        resize_to_fit(self, 720, 820)  # Qt keeps it at least the minimum

    def _on_later_clicked(self) -> None:
        """稍后打印: the document waits in 待打印 (recorded as a pending job), then the preview closes."""
        svc, doc = self.services.printing, self.document
        self.later_button.setEnabled(False)
        run_op(self, lambda: svc.keep_for_later(doc), self._on_kept, self._on_keep_failed)

    def _on_kept(self, document) -> None:
        self.document = document
        self.reject()

    def _on_keep_failed(self, message: str) -> None:
        self.later_button.setEnabled(True)
        self.status.setText(message)

    def _on_print_clicked(self) -> None:
        try:
            printer = printer_for(self.printer_name)
        except PrinterFailure:
            printer = QPrinter(QPrinter.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() == QDialog.Accepted:
            self.print_to(printer)

    def _on_quick_clicked(self) -> None:
        try:
            printer = printer_for(self.printer_name)
        except PrinterFailure as e:
            self._record(False, str(e))
            return
        self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        """Print on the UI thread (QPrinter is not thread-safe), then record the outcome off it."""
        name = printer.printerName() or printer.outputFileName() or "PDF"
        try:
            print_pdf(self.document.pdf, printer)
        except PrinterFailure as e:
            self._record(False, str(e))
            return
        self._record(True, name)

    def _record(self, ok: bool, detail: str) -> None:
        doc, svc, printer = self.document, self.services.printing, detail if ok else (self.printer_name or "")
        run_op(self, lambda: svc.record_print(doc, printer=printer, ok=ok, reason="" if ok else detail),
               lambda recorded: self._after(ok, detail, recorded))

    def _after(self, ok: bool, detail: str, recorded=None) -> None:
        if recorded is not None:
            self.document = recorded  # now a job: a retry after a failure updates the same one
        self.printed.emit(ok, detail)
        if ok:
            self.accept()
        else:
            self.status.setText(f"打印没有完成：{detail}。案件已保存，文书已放入“待打印”，可稍后重新打印。")
            self.status.setObjectName("error")
            self.status.setStyleSheet("color: #b42318;")
