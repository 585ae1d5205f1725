"""A table view whose columns always fit its width (issue 19): one column stretches, the others shrink in
proportion down to what each must keep; cut text ends in "…" (a case number is cut on the left)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTableView, QToolTip

STRETCH_HEADERS = ("事项", "原因", "住址")  # the column that takes what the others leave (the first found)
MIN_STRETCH = 170  # px the stretching column keeps before the others are narrowed
MIN_SECTION = 48
# What a column keeps when the table is narrow (it shrinks from its contents' width down to this, in proportion
# with the others): the case number keeps its date and sequence ("…20261130-0001", cut on the left), the
# deadline its date.
FLOORS = {"案件编号": "…20261130-0001", "身份证号": "320302***", "办理期限": "2026-12-02", "剩余时间": "已超期 5 个工…",
          "回访/整改期限": "2026-12-02", "反馈期限": "12-02 10:30"}
LEFT_ELIDED = ("案件编号",)


class _LeftElided(QStyledItemDelegate):
    """Cuts on the left: the end of a case number is what tells two rows apart."""

    def paint(self, painter, option, index) -> None:
        option = QStyleOptionViewItem(option)
        option.textElideMode = Qt.ElideLeft
        super().paint(painter, option, index)


class FittedTableView(QTableView):
    """A table whose columns always fit its width (issue 19: at 1024×768 剩余时间 was off-screen): one column
    stretches, the others keep their fitted width unless they would push it below ``MIN_STRETCH``, and then the
    widest are narrowed first; cut text ends in "…" and its whole text is the cell's tooltip."""

    def __init__(self, parent=None, *, auto_fit: bool = False):
        """``auto_fit``: fit the columns to their contents whenever the model is reset (else the owner calls
        ``fit_columns(to_contents=True)`` when it wants, e.g. on a first page only)."""
        super().__init__(parent)
        self._auto_fit = auto_fit

    def setModel(self, model) -> None:
        super().setModel(model)
        if self._auto_fit:
            model.modelReset.connect(lambda: self.fit_columns(to_contents=True))
            model.rowsInserted.connect(lambda *_a: self.fit_columns(to_contents=True))
        self._natural: dict[int, int] = {}  # the width each column wants (its contents), before fitting
        header = self.horizontalHeader()
        header.setMinimumSectionSize(MIN_SECTION)
        header.setStretchLastSection(False)
        header.setTextElideMode(Qt.ElideRight)
        self.setTextElideMode(Qt.ElideRight)
        self.setWordWrap(False)  # one line per row: a case number wrapped at its "-" showed only its first half
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(self.stretch_column(), QHeaderView.Stretch)
        self._left = _LeftElided(self)
        for i, label in enumerate(self._labels()):
            if label in LEFT_ELIDED:
                self.setItemDelegateForColumn(i, self._left)

    def _labels(self) -> list[str]:
        model = self.model()
        return [str(model.headerData(i, Qt.Horizontal) or "") for i in range(model.columnCount())]

    def stretch_column(self) -> int:
        labels = self._labels()
        for name in STRETCH_HEADERS:
            if name in labels:
                return labels.index(name)
        return max(0, len(labels) - 1)

    def fit_columns(self, to_contents: bool = False) -> None:
        header, stretch = self.horizontalHeader(), self.stretch_column()
        columns = [i for i in range(header.count()) if i != stretch and not header.isSectionHidden(i)]
        if to_contents:
            for i in columns:
                self._natural[i] = max(self.sizeHintForColumn(i), header.sectionSizeHint(i))
        room = self.viewport().width() - MIN_STRETCH
        labels, pad = self._labels(), 2 * self.style().pixelMetric(self.style().PixelMetric.PM_FocusFrameHMargin) + 12
        natural = {i: self._natural.get(i) or header.sectionSizeHint(i) for i in columns}
        metrics, bold = self.fontMetrics(), header.fontMetrics()  # the header's labels are bold: 10% wider

        def least(i: int) -> int:  # its header label whole, and what FLOORS says it keeps
            label = int(bold.horizontalAdvance(labels[i]) * 1.1) + 16
            return max(MIN_SECTION, label, metrics.horizontalAdvance(FLOORS.get(labels[i], "")) + pad)
        floor = {i: min(natural[i], least(i)) for i in columns}
        deficit, give = sum(natural.values()) - room, sum(natural[i] - floor[i] for i in columns)
        share = min(1.0, deficit / give) if deficit > 0 and give > 0 else 0.0
        widths = {i: round(natural[i] - (natural[i] - floor[i]) * share) for i in columns}
        for i, w in widths.items():
            if header.sectionSize(i) != w:
                header.resizeSection(i, w)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def viewportEvent(self, event) -> bool:
        """A cell cut short shows its whole text as a tooltip (unless the model has a tooltip of its own)."""
        if event.type() == QEvent.ToolTip:
            index = self.indexAt(event.pos())
            text = index.data(Qt.DisplayRole) if index.isValid() else None
            if text and not index.data(Qt.ToolTipRole) and \
                    self.fontMetrics().horizontalAdvance(str(text)) > self.columnWidth(index.column()) - 12:
                QToolTip.showText(event.globalPos(), str(text), self.viewport())
                return True
        return super().viewportEvent(event)
