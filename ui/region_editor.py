"""The committee's own place on the 设置 page: 户籍 of residents is local or not against it (app/desk/region.py)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMessageBox, QPushButton, QWidget

from app.core.residence import Region
from ui.operations import run_op


class RegionEditor(QWidget):
    def __init__(self, services, parent=None):
        super().__init__(parent)
        self.services = services
        self.province = QLineEdit(placeholderText="省")
        self.city = QLineEdit(placeholderText="市")
        self.county = QLineEdit(placeholderText="区县")
        self.street = QLineEdit(placeholderText="街道（乡镇）")
        self.save_button = QPushButton("保存")
        self.save_button.setToolTip("居民户籍是否为本市、本区县、本街道，按这里的所在地判断")
        self.save_button.clicked.connect(self._on_save_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.province, self.city, self.county, self.street, self.save_button):
            row.addWidget(w)

    @property
    def _service(self):
        from app.desk.region import RegionService
        return RegionService(self.services.ctx)

    def refresh(self) -> None:
        run_op(self, self._service.get, self._on_region)

    def _on_region(self, region: Region) -> None:
        for w, text in zip((self.province, self.city, self.county, self.street),
                           (region.province, region.city, region.county, region.street), strict=True):
            w.setText(text)

    def value(self) -> Region:
        return Region(self.province.text(), self.city.text(), self.county.text(), self.street.text())

    def _on_save_clicked(self) -> None:
        actor, region, svc = self.services.current_worker, self.value(), self._service
        run_op(self, lambda: svc.set(actor, region),
               lambda _r: QMessageBox.information(self, "提示", "本居委会所在地已保存"))
