"""The desk's 台账 workbook and monthly report as files (app/desk/report_files.py) and ``report month``
(app/cli/report.py), on the hand-counted month of tests/test_stats.py."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from pypdf import PdfReader

from app.cli.main import main
from app.core.errors import UserError
from app.core.workbook import SHEET_LEDGER, SHEET_ROWS, SHEET_SUMMARY
from app.desk.clock import DeskClock
from app.desk.report_files import ReportFileError
from app.desk.stats import StatsService
from tests.test_stats import NOV, NOW, TOTAL, _numbers, _seed


@pytest.fixture
def seed(desk_ctx):
    desk_ctx.clock = DeskClock(desk_ctx.sessions, source=lambda: NOW.astimezone(dt.UTC))
    return _seed(desk_ctx)


def _summary(wb) -> dict[str, object]:
    values: dict[str, object] = {}
    for label, value in wb[SHEET_SUMMARY].iter_rows(max_col=2, values_only=True):
        values.setdefault(label, value)  # the figures come before the definitions (which name them too)
    return values


def test_the_seeded_month_as_workbook_and_pdf(seed, tmp_path):
    boss = seed.people["boss"]
    service = StatsService(seed.ctx)
    path = service.write_workbook(boss, NOV, tmp_path / "out" / "2026-11 台账.xlsx")
    assert path == tmp_path / "out" / "2026-11 台账.xlsx" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    wb = openpyxl.load_workbook(path)
    values = _summary(wb)
    assert (values["办件量"], values["即办"], values["转办"], values["撤回"]) == (
        TOTAL["cases"], TOTAL["on_spot"], TOTAL["forwarded"], TOTAL["withdrawn"])
    assert values["按时答复率"] == pytest.approx(TOTAL["on_time_rate"])
    assert values["平均答复用时（工作小时）"] == pytest.approx(TOTAL["avg_reply_hours"])
    assert values["满意率"] == pytest.approx(TOTAL["satisfaction_rate"]) and values["未评价"] == 4
    assert values["统计范围"] == "幸福里社区居民委员会"
    assert "本期案件" in [r[0].value for r in wb[SHEET_SUMMARY].iter_rows(max_col=1)]  # the definitions
    assert [r[0].value for r in wb[SHEET_ROWS].iter_rows(min_row=2, max_col=1)] == [
        "高龄老人尊老金申领", "居委会出具证明", "残疾人证新办", "合计"]
    ledger = wb[SHEET_LEDGER]
    assert ledger.max_row == 14  # 13 cases of November, header first
    numbers = _numbers(seed)
    rows = {r[0]: r for r in ledger.iter_rows(min_row=2, values_only=True)}
    f3 = rows[numbers[seed.ids["F3"]]]  # replied 15 minutes after close of business on its due day
    assert f3[1:] == ("高龄老人尊老金申领", "张*兰", dt.datetime(2026, 11, 9, 9, 0), "转办", None, "李建国",
                      dt.datetime(2026, 11, 11, 17, 30), dt.datetime(2026, 11, 11, 17, 45), "是", "非常不满意")
    assert rows[numbers[seed.ids["C3"]]][-1] == "未评价"
    assert rows[numbers[seed.ids["W1"]]][4] == "撤回"

    pdf = service.write_pdf(boss, NOV, tmp_path / "out" / "月报.pdf")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = "".join(re.sub(r"\s+", "", p.extract_text() or "") for p in reader.pages)
    assert "幸福里社区居民委员会2026年11月办件与评价月报" in text
    assert "按时答复率50.0%" in text and "满意率66.7%" in text and "高龄老人尊老金申领" in text


def test_only_a_supervisor_or_admin_exports_and_a_bad_folder_is_a_message(seed, tmp_path):
    service = StatsService(seed.ctx)
    with pytest.raises(UserError, match="只有站长或管理员可以导出台账"):
        service.write_workbook(seed.people["desk"], NOV, tmp_path / "a.xlsx")
    assert not (tmp_path / "a.xlsx").exists()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ReportFileError, match="无法写入文件"):
        service.write_workbook(seed.people["boss"], NOV, blocker / "a.xlsx")
    with pytest.raises(ReportFileError, match="是一个文件夹"):
        service.write_pdf(seed.people["boss"], NOV, tmp_path)


def test_report_month_command_writes_both_files(seed, tmp_path, capsys):
    xlsx, pdf = tmp_path / "t.xlsx", tmp_path / "m.pdf"
    data_dir = str(seed.ctx.data_dir)
    code = main(["--data-dir", data_dir, "report", "month", "2026-11", "--xlsx", str(xlsx), "--pdf", str(pdf),
                 "--breakdown", "worker"])
    out = capsys.readouterr().out
    assert code == 0
    assert "幸福里社区居民委员会 2026年11月：办件 12 件（即办 4，转办 6）" in out and "满意率 66.7%" in out
    assert f"台账（按受理人）已写入：{xlsx}" in out and f"月报已写入：{pdf}" in out
    wb = openpyxl.load_workbook(xlsx)
    assert wb[SHEET_ROWS]["A1"].value == "受理人"
    assert [r[0].value for r in wb[SHEET_ROWS].iter_rows(min_row=2, max_col=1)] == ["王晓燕", "周海燕", "合计"]
    assert wb[SHEET_LEDGER].max_row == 14
    assert len(PdfReader(pdf).pages) >= 1


@pytest.mark.parametrize("argv, message", [
    (["report", "month", "2026-13", "--xlsx", "X.xlsx"], "月份应在 1 到 12 之间"),
    (["report", "month", "11/2026", "--xlsx", "X.xlsx"], "月份格式应为 2026-11"),
    (["report", "month", "2026-11"], "请用 --xlsx"),
    (["report", "month", "2026-11", "--xlsx", "X.csv"], "文件名应以 .xlsx 结尾"),
])
def test_report_month_refuses_bad_input_in_chinese(seed, tmp_path, capsys, argv, message):
    argv = [a.replace("X.", str(tmp_path / "X.")) for a in argv]
    assert main(["--data-dir", str(seed.ctx.data_dir), *argv]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.glob("X.*")) == []


def test_report_month_without_a_desk_says_so(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "empty"), "report", "month", "2026-11", "--xlsx",
                 str(tmp_path / "t.xlsx")]) == 2
    assert "数据文件夹中没有数据库" in capsys.readouterr().err
