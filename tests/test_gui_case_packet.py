"""Issue 15 through the real widgets: the line colleague (李建国, ``minzheng``) opens a forwarded case and reads
what the resident answered step by step, who applied, the materials as received and their files; prints the
申请材料清单. The front desk sees the same packet masked, without the reveal."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog
from sqlalchemy import select

from app.desk.attachments import ON_DEMAND, SYNCED, UPLOADING
from app.desk.attachments.service import AttachmentService
from app.desk.packet import FIGURES
from forms.identity import mask_id
from models import Attachment, AttachmentBlob, AuditEntry
from tests.test_case_packet import AGENT, CAR, add_attachment, id_number, make_case, page_image
from ui.cases.case_dialog import PRINT, TAB_TITLES, CaseDialog
from ui.cases.packet_view import ImageViewerDialog, capture_dialog_available
from ui.printing.print_preview_dialog import PrintPreviewDialog

pytestmark = pytest.mark.gui
SHOTS = Path("/tmp/work/shots")


def as_worker(win, login: str):
    worker = win.services.auth.login(login, "demo1234")
    win.switch_worker(worker)
    return worker


def open_case(qtbot, win, cid) -> CaseDialog:
    dlg = win.services.case_windows.open(cid, win)
    qtbot.waitUntil(lambda: dlg.packet is not None and dlg.detail is not None and dlg.prints.text() != "")
    return dlg


def shot(dlg, name: str) -> None:
    """The window as the worker sees it, to look at by eye: in /tmp/work/shots where that folder exists (the
    issue's working folder) and in ONEDESK_SHOTS when set."""
    QApplication.processEvents()
    if SHOTS.is_dir():
        dlg.grab().save(str(SHOTS / name))
    if os.environ.get("ONEDESK_SHOTS"):
        dlg.grab().save(os.path.join(os.environ["ONEDESK_SHOTS"], name))


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_colleague_reads_the_answers_by_step_and_who_applied(window, qtbot):
    ctx = window.services.ctx
    cid = make_case(ctx, "MZ-02", birth="19730415", seq="051", name="赵国强", fields=CAR, agent=AGENT)
    full = id_number("19730415", "051")
    mz = as_worker(window, "minzheng")
    dlg = open_case(qtbot, window, cid)
    assert [dlg.tabs.tabText(i) for i in range(dlg.tabs.count())] == list(TAB_TITLES)
    people = dlg.people.values
    assert people["申请人"].text() == "赵国强" and people["身份证号"].text() == mask_id(full)
    assert people["代办人"].text() == "王小明（子女）" and people["代办人电话"].text() == "139****1111"
    assert "户籍" in people and people["居住证"].text() == "无"
    assert dlg.people.reveal_button.isVisibleTo(dlg)  # 李建国 may see the full number: through the audited reveal

    dlg.tabs.setCurrentIndex(TAB_TITLES.index("申请内容"))
    answers = dlg.answers
    assert list(answers.sections) == [FIGURES, "家庭成员及收入", "家庭财产", "困难情况"]
    assert answers.sections["家庭财产"].title() == "家庭财产"
    assert answers.values[("家庭财产", "家庭金融资产合计")].text() == "5000 元"
    assert answers.values[("家庭财产", "车辆情况（品牌、购置年份、用途）")].text() == "2015年购置的二手代步车"
    assert answers.values[(FIGURES, "共同生活家庭人口")].text() == "1 人"
    grid = answers.tables["共同生活的家庭成员（含申请人本人）"]
    headers = [grid.horizontalHeaderItem(j).text() for j in range(grid.columnCount())]
    assert {"姓名", "身份证号码", "与申请人关系"} <= set(headers)
    assert grid.item(0, headers.index("身份证号码")).text() == mask_id(full)
    assert "机动车辆" in answers.warning_label.text() and "居民坚持申请" in answers.warning_label.text()
    shot(dlg, "case_packet.png")

    dlg.tabs.setCurrentIndex(0)
    qtbot.mouseClick(dlg.people.reveal_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.packet.full)
    assert people is not dlg.people.values and dlg.people.values["身份证号"].text() == full
    assert dlg.people.revealed_hint.isVisibleTo(dlg) and not dlg.people.reveal_button.isVisibleTo(dlg)
    with ctx.sessions() as s:
        seen = s.scalars(select(AuditEntry.subject).where(AuditEntry.worker_id == mz.id,
                                                          AuditEntry.action == "case.view_full_id")).all()
    assert seen == [f"case:{cid}"]
    shot(dlg, "case_packet_summary.png")


def test_front_desk_sees_the_packet_masked_without_the_reveal(window, qtbot):
    cid = make_case(window.services.ctx, "MZ-01", birth="19400315", seq="071", name="钱桂芳", agent=AGENT)
    dlg = open_case(qtbot, window, cid)  # logged in as 王晓燕 (前台社工)
    assert dlg.people.values["身份证号"].text() == mask_id(id_number("19400315", "071"))
    assert dlg.people.values["代办人身份证号"].text() == mask_id(id_number("19700101", "031"))
    assert not dlg.people.reveal_button.isVisibleTo(dlg)
    assert dlg.answers.values[("老人基本情况", "居住情况")].text() == "独居"


def test_colleague_reads_the_materials_and_their_files_and_prints_the_packet(window, qtbot, monkeypatch, tmp_path):
    ctx = window.services.ctx
    cid = make_case(ctx, "MZ-01", birth="19410520", seq="013", name="孙玉兰", deferred=True)
    id_copy = add_attachment(ctx, cid, "申请人居民身份证", "身份证正反面.jpg", uploaded=True)
    hukou = add_attachment(ctx, cid, "户口簿", "户口簿.pdf", present=False, pages=3)
    assert AttachmentService(ctx).info(hukou).status == UPLOADING  # nothing known of the server's copy yet
    with ctx.sessions.begin() as s:  # the transfer's status check found it whole on the server: 可下载
        a = s.get_one(Attachment, hukou)
        s.add(AttachmentBlob(sha256=a.sha256, size=a.size, mime=a.mime, present=False, uploaded=True))
    as_worker(window, "minzheng")
    dlg = open_case(qtbot, window, cid)
    dlg.tabs.setCurrentIndex(TAB_TITLES.index("材料与附件"))
    view = dlg.materials_view
    mats = view.material_model
    table = {mats.data(mats.index(r, 0)): [mats.data(mats.index(r, c)) for c in range(mats.columnCount())]
             for r in range(mats.rowCount())}
    assert table["申请人居民身份证"][1:4] == ["原件及复印件", "1", "✓ 已收"] and table["申请人居民身份证"][5] == "1 份"
    owed = table["申请人社会保障卡或银行卡"]
    assert owed[3] == "△ 容缺待补" and owed[4].startswith("须于") and owed[4].endswith("前补交")
    files = view.file_model
    listed = {files.data(files.index(r, 1)): files.data(files.index(r, 6)) for r in range(files.rowCount())}
    assert listed == {"身份证正反面.jpg": SYNCED, "户口簿.pdf": ON_DEMAND}
    assert "未收或待补：申请人社会保障卡或银行卡" in view.summary.text()

    # 户口簿.pdf is on the server only: no 查看, but 下载 asks for it
    row = next(r for r in range(files.rowCount()) if files.data(files.index(r, 1)) == "户口簿.pdf")
    view.files.selectRow(row)
    assert not view.view_button.isEnabled() and view.download_button.isEnabled()
    qtbot.mouseClick(view.download_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "附件暂未下载" in view.message.text())  # this desk is not enrolled: next sync
    with ctx.sessions() as s:
        assert all(b.wanted for b in s.scalars(select(AttachmentBlob)) if not b.present)

    # the ID copy is here: 查看 shows it
    row = next(r for r in range(files.rowCount()) if files.data(files.index(r, 1)) == "身份证正反面.jpg")
    view.files.selectRow(row)
    assert view.view_button.isEnabled() and not view.download_button.isEnabled()
    qtbot.mouseClick(view.view_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(w, ImageViewerDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    viewer = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ImageViewerDialog))
    with Image.open(io.BytesIO(AttachmentService(ctx).read(id_copy))) as stored:
        assert (viewer.pixmap.width(), viewer.pixmap.height()) == stored.size and stored.width > 0
    viewer.accept()

    # 从文件添加… for the selected material (the bank card the applicant brought later, scanned to a file)
    scan = tmp_path / "社保卡.jpg"
    scan.write_bytes(page_image("social security card"))
    mat_row = next(r for r in range(mats.rowCount()) if mats.data(mats.index(r, 0)) == "申请人社会保障卡或银行卡")
    view.materials.selectRow(mat_row)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(scan), "")))
    qtbot.mouseClick(view.file_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.file_model.rowCount() == 3)
    names = [view.file_model.data(view.file_model.index(r, 0)) for r in range(3)]
    assert "申请人社会保障卡或银行卡" in names
    assert view.capture_button.isVisible() == capture_dialog_available()
    shot(dlg, "case_packet_materials.png")

    # 打印文书 → 申请材料清单
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("申请材料清单", True)))
    qtbot.mouseClick(dlg.buttons[PRINT], Qt.LeftButton)

    def preview():
        return next((w for w in QApplication.topLevelWidgets() if isinstance(w, PrintPreviewDialog)
                     and w.isVisible()), None)
    qtbot.waitUntil(lambda: preview() is not None)
    text = text_of(preview().document.pdf)
    preview().close()
    assert "申请材料清单" in text and "老人基本情况" in text and "居住情况" in text and "独居" in text
    assert "申请人居民身份证" in text and "已收" in text and "容缺待补" in text
    assert "附材料扫描件3份" in text
    assert id_number("19410520", "013") not in text and mask_id(id_number("19410520", "013")) in text


def test_the_packet_tables_are_sound_item_models(qtmodeltester, window, qtbot):
    cid = make_case(window.services.ctx, "MZ-01", birth="19410521", seq="015", name="吴秀珍", deferred=True)
    add_attachment(window.services.ctx, cid, "户口簿", "户口簿.jpg")
    dlg = open_case(qtbot, window, cid)
    assert dlg.materials_view.material_model.rowCount() >= 3 and dlg.materials_view.file_model.rowCount() == 1
    qtmodeltester.check(dlg.materials_view.material_model, force_py=True)
    qtmodeltester.check(dlg.materials_view.file_model, force_py=True)
