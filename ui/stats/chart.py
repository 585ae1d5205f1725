"""The period's chart, drawn with QPainter (Qt Charts / Qt Graphs are GPL or commercial only): per day a bar of
the cases accepted, stacked 即办 / 转办 / 在办, and the on-time reply rate as a line on a right-hand 0–100% axis.

Day labels are thinned when the days are crowded (a year is 365 bars); hovering a day shows its figures.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.stats import DayPoint
from ui.stats.figures_model import rate_text

ON_SPOT_COLOR = QColor("#2d5286")
FORWARDED_COLOR = QColor("#f0b429")
OTHER_COLOR = QColor("#c3cad5")
RATE_COLOR = QColor("#0e9384")
AXIS_COLOR = QColor("#5b6b7f")
GRID_COLOR = QColor("#e3e7ed")
HOVER_COLOR = QColor("#eef3fa")
WEEKDAYS = "一二三四五六日"
LEGEND = (("即办", ON_SPOT_COLOR), ("转办", FORWARDED_COLOR), ("在办", OTHER_COLOR))


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A 1/2/5×10ⁿ step giving at most ``ticks`` intervals up to ``maximum`` (≥ 1)."""
    raw = max(1.0, maximum / ticks)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def day_text(p: DayPoint) -> str:
    """What hovering a day shows."""
    other = p.cases - p.on_spot - p.forwarded
    lines = [f"{p.day.month}月{p.day.day}日（周{WEEKDAYS[p.day.weekday()]}）",
             f"办件 {p.cases} 件：即办 {p.on_spot}，转办 {p.forwarded}" + (f"，在办 {other}" if other > 0 else ""),
             f"当日到期转办的按时答复率：{rate_text(p.on_time_rate)}"]
    return "\n".join(lines)


class DailyChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.points: list[DayPoint] = []
        self.hover_index: int | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setToolTipDuration(8000)

    def set_points(self, points: list[DayPoint]) -> None:
        self.points = list(points)
        self.hover_index = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def minimumSizeHint(self) -> QSize:
        return QSize(280, 150)

    # ----- geometry -------------------------------------------------------------------------
    def _metrics(self) -> QFontMetrics:
        return QFontMetrics(self._label_font())

    def _label_font(self):
        font = self.font()
        font.setPointSizeF(max(8.0, font.pointSizeF() - 1.5))
        return font

    def _max_count(self) -> int:
        return max((p.cases for p in self.points), default=0)

    def plot_rect(self) -> QRectF:
        fm = self._metrics()
        step = nice_step(self._max_count())
        top_count = max(step, math.ceil(self._max_count() / step) * step)
        left = fm.horizontalAdvance(str(top_count)) + 14
        right = fm.horizontalAdvance("100%") + 14
        top = fm.height() * 2 + 10  # axis titles and legend
        bottom = fm.height() + 10  # day labels
        return QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))

    def index_at(self, x: float) -> int | None:
        if not self.points:
            return None
        plot = self.plot_rect()
        if not plot.left() <= x < plot.right():
            return None
        return min(len(self.points) - 1, int((x - plot.left()) / (plot.width() / len(self.points))))

    def label_step(self) -> int:
        """Every how many days a day is labelled, so the labels never overlap."""
        if not self.points:
            return 1
        slot = self.plot_rect().width() / len(self.points)
        need = self._metrics().horizontalAdvance("12/31") + 10
        step = max(1, math.ceil(need / max(slot, 0.1)))
        for nice in (1, 2, 3, 5, 7, 10, 14, 15, 30, 31, 61, 91):
            if nice >= step:
                return nice
        return step

    # ----- painting -------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        p.setFont(self._label_font())
        plot = self.plot_rect()
        self._draw_titles(p, plot)
        if not self.points:
            p.setPen(AXIS_COLOR)
            p.drawText(plot, Qt.AlignCenter, "本期间没有办件")
            p.end()
            return
        step = nice_step(self._max_count())
        top_count = max(step, math.ceil(self._max_count() / step) * step)
        self._draw_axes(p, plot, step, top_count)
        self._draw_bars(p, plot, top_count)
        self._draw_rate(p, plot)
        self._draw_days(p, plot)
        p.end()

    def _draw_titles(self, p: QPainter, plot: QRectF) -> None:
        fm = p.fontMetrics()
        line = fm.height()
        p.setPen(AXIS_COLOR)
        p.drawText(QRectF(0, 2, plot.left() + 120, line), Qt.AlignLeft | Qt.AlignVCenter, "办件量（件）")
        p.drawText(QRectF(plot.right() - 120, 2, self.width() - plot.right() + 120, line),
                   Qt.AlignRight | Qt.AlignVCenter, "按时答复率")
        items = [(t, c, False) for t, c in LEGEND] + [("按时答复率", RATE_COLOR, True)]
        widths = [14 + 6 + fm.horizontalAdvance(t) + 16 for t, _c, _l in items]
        x = plot.center().x() - sum(widths) / 2
        y = 4 + line
        for (text, color, is_line), w in zip(items, widths, strict=True):
            mid = y + line / 2
            if is_line:
                p.setPen(QPen(color, 2))
                p.drawLine(QPointF(x, mid), QPointF(x + 14, mid))
                p.setBrush(color)
                p.drawEllipse(QPointF(x + 7, mid), 2.5, 2.5)
            else:
                p.fillRect(QRectF(x, mid - 5, 14, 10), color)
            p.setPen(AXIS_COLOR)
            p.drawText(QRectF(x + 20, y, w - 20, line), Qt.AlignLeft | Qt.AlignVCenter, text)
            x += w

    def _draw_axes(self, p: QPainter, plot: QRectF, step: int, top_count: int) -> None:
        fm = p.fontMetrics()
        for value in range(0, top_count + 1, step):
            y = plot.bottom() - plot.height() * value / top_count
            p.setPen(QPen(GRID_COLOR, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(AXIS_COLOR)
            p.drawText(QRectF(0, y - fm.height() / 2, plot.left() - 6, fm.height()),
                       Qt.AlignRight | Qt.AlignVCenter, str(value))
        for pct in (0, 25, 50, 75, 100):
            y = plot.bottom() - plot.height() * pct / 100
            p.drawText(QRectF(plot.right() + 6, y - fm.height() / 2, self.width() - plot.right() - 6, fm.height()),
                       Qt.AlignLeft | Qt.AlignVCenter, f"{pct}%")
        p.setPen(QPen(AXIS_COLOR, 1))
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.drawLine(plot.topLeft(), plot.bottomLeft())
        p.drawLine(plot.topRight(), plot.bottomRight())

    def _draw_bars(self, p: QPainter, plot: QRectF, top_count: int) -> None:
        slot = plot.width() / len(self.points)
        bar = max(1.0, slot * 0.7)
        p.setPen(Qt.NoPen)
        for i, point in enumerate(self.points):
            x = plot.left() + i * slot
            if i == self.hover_index:
                p.fillRect(QRectF(x, plot.top(), slot, plot.height()), HOVER_COLOR)
            y = plot.bottom()
            other = max(0, point.cases - point.on_spot - point.forwarded)
            for count, color in ((point.on_spot, ON_SPOT_COLOR), (point.forwarded, FORWARDED_COLOR),
                                 (other, OTHER_COLOR)):
                if count <= 0:
                    continue
                h = plot.height() * count / top_count
                p.fillRect(QRectF(x + (slot - bar) / 2, y - h, bar, h), color)
                y -= h

    def _draw_rate(self, p: QPainter, plot: QRectF) -> None:
        slot = plot.width() / len(self.points)
        path = QPainterPath()
        drawing = False
        dots = []
        for i, point in enumerate(self.points):
            if point.on_time_rate is None:
                drawing = False  # no forwarding due that day: the line breaks rather than invent a value
                continue
            pt = QPointF(plot.left() + (i + 0.5) * slot, plot.bottom() - plot.height() * point.on_time_rate)
            if drawing:
                path.lineTo(pt)
            else:
                path.moveTo(pt)
                drawing = True
            dots.append(pt)
        p.setPen(QPen(RATE_COLOR, 2))
        p.setBrush(Qt.NoBrush)
        p.drawPath(path)
        if slot >= 5:
            p.setPen(Qt.NoPen)
            p.setBrush(RATE_COLOR)
            radius = 3.0 if slot >= 10 else 2.0
            for pt in dots:
                p.drawEllipse(pt, radius, radius)

    def _draw_days(self, p: QPainter, plot: QRectF) -> None:
        fm = p.fontMetrics()
        slot = plot.width() / len(self.points)
        step = self.label_step()
        p.setPen(AXIS_COLOR)
        width = fm.horizontalAdvance("12/31") + 8
        for i in range(0, len(self.points), step):
            day = self.points[i].day
            cx = plot.left() + (i + 0.5) * slot
            rect = QRectF(cx - width / 2, plot.bottom() + 4, width, fm.height())
            if rect.right() > self.width():
                rect.moveRight(self.width())
            p.drawLine(QPointF(cx, plot.bottom()), QPointF(cx, plot.bottom() + 3))
            p.drawText(rect, Qt.AlignHCenter | Qt.AlignTop, f"{day.month}/{day.day}")

    # ----- hover ----------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:
        index = self.index_at(event.position().x())
        if index != self.hover_index:
            self.hover_index = index
            self.update()
        if index is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), day_text(self.points[index]), self)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self.hover_index = None
        self.update()
        super().leaveEvent(event)
