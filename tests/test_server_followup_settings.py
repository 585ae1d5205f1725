"""The district's 差评回访 deadlines (issue 16): ``server settings followup`` checks them (Chinese message, exit 2,
nothing changed), writes them on every committee with its change row, and a desk pulls them; its DeadlineService
and the ratings it records then use them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.cli.main import main
from app.desk.deadlines import DeadlineService
from app.server import admin
from models.server import Case, ChangeRow, Committee
from tests.sync_helpers import COMMITTEE

pytest_plugins = ("tests.server_fixtures",)  # its fixtures: PostgreSQL, clean server, desks

pytestmark = pytest.mark.server

CST = dt.timezone(dt.timedelta(hours=8))


def _cli(pg_url, tmp_path, *argv) -> int:
    return main(["--data-dir", str(tmp_path / "srv"), "server", *argv, "--db", pg_url])


def _state(db):
    with db.sessions() as s:
        settings = {c.code: dict(c.settings or {}) for c in s.scalars(select(Committee))}
        return settings, s.scalar(select(func.count()).select_from(ChangeRow))


def test_cli_sets_the_followup_days_of_every_committee(seeded, pg_url, tmp_path, capsys):
    admin.add_committee(seeded, "320302002", "和平里社区居民委员会")
    before = _state(seeded)
    for bad, message in ((("0", "15"), "回访期限须为 1 到 60 之间的整数个工作日"),
                         (("5", "2"), "整改期限不能短于回访期限"), (("1", "61"), "整改期限须为 1 到 60")):
        assert _cli(pg_url, tmp_path, "settings", "followup", "--callback-days", bad[0], "--fix-days", bad[1]) == 2
        assert message in capsys.readouterr().err
        assert _state(seeded) == before  # nothing changed, no change row
    assert _cli(pg_url, tmp_path, "settings", "followup", "--callback-days", "2", "--fix-days", "10") == 0
    out = capsys.readouterr().out
    assert "2 个工作日内回访，10 个工作日内整改" in out and "已下发到 2 个居委会" in out
    settings, changes = _state(seeded)
    assert all(s["followup"] == {"callback_days": 2, "fix_days": 10} for s in settings.values())
    assert "region" in settings[COMMITTEE]  # the other settings are kept
    with seeded.sessions() as s:
        rows = list(s.scalars(select(ChangeRow).order_by(ChangeRow.seq).offset(before[1])))
    assert changes == before[1] + 2 and {r.entity for r in rows} == {"committee"}
    assert _cli(pg_url, tmp_path, "settings", "show") == 0
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 2 and all("2 个工作日内回访，10 个工作日内整改" in line for line in shown)


def test_the_setting_reaches_a_desk_by_pull_and_its_deadlines_use_it(make_desk, seeded):
    a = make_desk("A")
    at = dt.datetime(2026, 10, 30, 15, 0, tzinfo=CST)  # a Friday afternoon
    deadlines = DeadlineService(a.ctx)
    assert deadlines.followup(at) == (dt.datetime(2026, 11, 2, 17, 30, tzinfo=CST),  # defaults: 1 and 15
                                      dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST))
    admin.set_followup_days(seeded, 2, 10)
    assert a.sync.sync_once().ok
    assert deadlines.followup_days().callback_days == 2
    assert deadlines.followup(at) == (dt.datetime(2026, 11, 3, 17, 30, tzinfo=CST),
                                      dt.datetime(2026, 11, 13, 17, 30, tzinfo=CST))
    d = a.worker("desk")
    cid = a.new_case()
    a.cases.forward(d, cid, assignee_id=a.worker("mz").id, queue="民政", at=at)
    rating = a.cases.rate(d, cid, "dissatisfied", at=at).rating
    assert (rating.callback_due, rating.fix_due) == deadlines.followup(at)
    assert a.sync.sync_once().ok  # the rating reaches the server with the same deadlines
    with seeded.sessions() as s:
        case = s.get_one(Case, cid)
        assert (case.followup_callback_due, case.followup_fix_due) == deadlines.followup(at)
