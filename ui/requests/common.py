"""Small parts the 诉求 widgets share: times shown in China time, the promised-time editor, the clock's colours."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, QTime
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QDateTimeEdit

from app.core.vocabulary import CHINA_TZ

PHOTO_MATERIAL = "现场照片"  # the material the photos of a 诉求 are filed under
PHOTO_FILTER = "图片 (*.jpg *.jpeg *.png *.bmp *.tif *.tiff);;PDF 文件 (*.pdf)"
# The 24-hour clock's levels (app/core/requests.py request_clock): yellow when little time is left, red past it.
SOON_BACKGROUND = QBrush(QColor("#fff1b8"))
OVERDUE_BACKGROUND = QBrush(QColor("#fde2e1"))
SOON_FOREGROUND = QBrush(QColor("#7a4d00"))
OVERDUE_FOREGROUND = QBrush(QColor("#b42318"))
LEVEL_STYLES = {"soon": "background: #fff1b8; color: #7a4d00; padding: 1px 4px;",
                "overdue": "background: #fde2e1; color: #b42318; font-weight: bold; padding: 1px 4px;"}


def background_for(level: str) -> QBrush | None:
    return {"soon": SOON_BACKGROUND, "overdue": OVERDUE_BACKGROUND}.get(level)


def foreground_for(level: str) -> QBrush | None:
    return {"soon": SOON_FOREGROUND, "overdue": OVERDUE_FOREGROUND}.get(level)


def fmt(when: dt.datetime | None) -> str:
    return when.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if when else "—"


def promised_edit(now: dt.datetime, hours: int = 4) -> QDateTimeEdit:
    """A date-and-time editor in China time, starting ``hours`` after ``now`` on the next full hour."""
    start = (now.astimezone(CHINA_TZ) + dt.timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    edit = QDateTimeEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    edit.setDateTime(QDateTime(start.date(), QTime(start.hour, 0)))
    return edit


def edited_time(edit: QDateTimeEdit) -> dt.datetime:
    """What ``edit`` shows, read as China time, in UTC."""
    value = edit.dateTime()
    d, t = value.date(), value.time()
    local = dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=CHINA_TZ)
    return local.astimezone(dt.UTC)
