"""待打印: documents that were saved but never reached paper (printer missing, offline or failed, or 稍后打印).

Each row names the case, its applicant (masked, as every list), the item and the document.

The list follows the change bus: a document printed or produced anywhere while it is open updates it.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.core.workdays import CHINA_TZ
from ui.operations import run_op
from ui.printing.print_preview_dialog import PrintPreviewDialog
from ui.screen_fit import resize_to_fit

COLUMNS = ("案件编号", "申请人", "事项", "文书", "生成时间", "状态", "说明")


class ToPrintDialog(QDialog):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("待打印的文书")
        resize_to_fit(self, 900, 420)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.print_button = QPushButton("打印所选")
        self.print_button.clicked.connect(self._on_print_clicked)
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        row = QHBoxLayout()
        row.addWidget(self.empty, 1)
        row.addWidget(self.print_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.rows = []
        services.change_bus.changed.connect(self._on_data_changed)
        self.refresh()

    @Slot(object)
    def _on_data_changed(self, changes) -> None:
        if (changes.print_jobs or changes.cases) and self.isVisible():  # a case's state decides what may print
            self.refresh()

    def refresh(self) -> None:
        run_op(self, lambda: self.services.printing.jobs(waiting_only=True), self._on_rows)

    def _on_rows(self, rows) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            status = "未打印" if r.status == "pending" else "打印失败"
            at = r.at.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
            for j, text in enumerate((r.case_number, r.applicant, r.item_name, r.doc_title, at, status, r.reason)):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.empty.setText("没有待打印的文书" if not rows else f"共 {len(rows)} 份")

    def _on_print_clicked(self) -> None:
        i = self.table.currentRow()
        if not 0 <= i < len(self.rows):
            return
        row = self.rows[i]
        svc = self.services.printing
        run_op(self, lambda: (svc.regenerate(row.id), svc.settings()[1]), lambda res: self._preview(row, *res))

    def _preview(self, row, pdf: bytes, printer) -> None:
        from app.desk.printing.service import PrintedDocument
        doc = PrintedDocument(job_id=row.id, case_number=row.case_number, doc_type=row.doc_type, layout=row.layout,
                              reprint_count=row.reprint_count, path=row.path, pdf=pdf, case_id=row.case_id)
        PrintPreviewDialog(self.services, doc, printer, self).open()
