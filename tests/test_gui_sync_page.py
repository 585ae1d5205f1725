"""同步 page and status bar on a desk that is not enrolled yet; enrolment errors are Chinese and change nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui_helpers import answer_next_message_box

pytestmark = pytest.mark.gui


def test_unenrolled_desk_shows_enrolment_and_refuses_bad_address(window, qtbot):
    win = window
    assert win.server_label.text() == "未配置区服务器"
    win.show_page("sync")
    page = win.pages["sync"]
    qtbot.waitUntil(lambda: page.summary.text() == "未配置区服务器")
    assert page.enroll_box.isVisible() and not page.sync_button.isEnabled()
    qtbot.keyClicks(page.server_url, "ftp://example")
    qtbot.keyClicks(page.code, "ABCD-1234")
    seen = answer_next_message_box()
    qtbot.mouseClick(page.enroll_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(seen))
    assert "https://" in seen[0]
    qtbot.waitUntil(page.enroll_button.isEnabled)
    assert win.services.sync_status().enrolled is False


def test_status_text_formats():
    import datetime as dt

    from app.desk.sync.client import SyncStatus
    from ui.sync.sync_status_text import age_text, offset_text, status_text
    st = SyncStatus(enrolled=True, server_url="https://x", online=False,
                    last_attempt_at=None, last_success_at=dt.datetime(2026, 11, 22, 2, 5, tzinfo=dt.UTC),
                    last_error="无法连接", pending=3, set_aside=1, oldest_pending_at=None, oldest_pending_age_s=4000,
                    clock_offset_s=None, set_aside_items=[])
    assert status_text(st) == "区服务器：离线 · 上次同步 10:05 · 待上传 3 · 搁置 1"
    assert age_text(4000) == "66 分钟" and age_text(30) == "不到 1 分钟" and age_text(None) == "无"
    assert offset_text(-0.04) == "0.0 秒" and offset_text(2.26) == "+2.3 秒" and offset_text(-75) == "-75.0 秒"
    assert offset_text(None) == "—"
