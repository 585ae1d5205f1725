"""Logs live in the data folder, rotate, and carry no names, ID numbers or phones (checked after a demo session)."""

from __future__ import annotations

import logging
import logging.handlers

import pytest

from app.core.logs import RedactingFilter, setup_logging
from app.demo.seed import _NAMES, demo_id_number, demo_phone, seed_demo
from app.desk.catalog.refs import item_ref
from app.desk.context import AppContext


def test_filter_masks_ids_and_phones_that_slip_through():
    args = ("11010519491231002X", "13800138000")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s phone %s", args, None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "id [id] phone [phone]"


@pytest.mark.gui
def test_demo_session_log_has_no_personal_data(tmp_path, styled_app, qtbot):
    data = tmp_path / "data"
    data.mkdir()
    log_path = setup_logging(data)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.handlers.RotatingFileHandler))
    assert handler.maxBytes > 0 and handler.backupCount > 0 and log_path.parent == data / "logs"
    ctx = AppContext.open(data)
    seed_demo(ctx, item_ref)
    from ui.main_window import MainWindow
    from ui.services import Services
    services = Services(ctx)
    services.current_worker = services.auth.login("zhanzhang", "demo1234")
    try:
        services.auth.login("qiantai", "wrong-password")
    except Exception:
        pass
    win = MainWindow(services)
    qtbot.addWidget(win)
    win.show()
    win.show_page("residents")
    page = win.pages["residents"]
    qtbot.waitUntil(lambda: page.model.rowCount() == 30)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.current is not None)
    services.residents.reveal(services.current_worker, page.current.id)
    win.show_page("worklist")
    qtbot.wait(200)
    win.close()
    ctx.close()
    for h in list(logging.getLogger().handlers):
        h.flush()
        if getattr(h, "_onedesk", False):
            logging.getLogger().removeHandler(h)
            h.close()
    text = "".join(p.read_text(encoding="utf-8") for p in (data / "logs").glob("onedesk.log*"))
    assert "case created" in text and "login ok" in text  # the log is really written
    leaks = [v for i, name in enumerate(_NAMES) for v in (name, demo_id_number(i), demo_phone(i)) if v in text]
    assert leaks == []


def test_tracebacks_are_redacted_too(tmp_path):
    path = setup_logging(tmp_path)
    try:
        try:
            raise ValueError("bad row 11010519491231002X / 13800138000")
        except ValueError:
            logging.getLogger("onedesk.test").exception("failed")
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_onedesk", False):
                logging.getLogger().removeHandler(h)
                h.close()
    text = path.read_text(encoding="utf-8")
    assert "ValueError: bad row [id] / [phone]" in text and "11010519491231002X" not in text
