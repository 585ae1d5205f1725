"""``bench worklist``: seed 150,000 cases (ten years of one committee) and time each tab's open and paging."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from stdnum.cn import ric

from app.desk.auth import AuthService
from app.desk.context import AppContext
from app.desk.setup import FirstRunInput, initialise_desk
from app.desk.worklist import TABS, WorklistService
from models import Case, Resident, new_id

STATES = ["closed"] * 70 + ["resolved"] * 15 + ["forwarded"] * 6 + ["replied"] * 3 + ["refused"] * 2 + \
         ["pending_materials", "draft", "accepted", "withdrawn"]


def _seed(ctx: AppContext, n_cases: int, n_residents: int) -> None:
    auth = AuthService(ctx)
    admin = auth.login("admin", "benchpass")
    line = auth.create_worker(admin, login="line", display_name="条线", password="benchpass", roles=["line"],
                              lines=["民政"])
    ident = ctx.identity()
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    residents = []
    for i in range(n_residents):
        body = f"3203{i // 21000:02d}{1930 + i % 80}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        residents.append({"id": new_id(), "committee_id": ident.committee_id, "name": f"居民{i}",
                          "name_pinyin": f"jumin{i}", "id_number": body + ric.calc_check_digit(body + "0"),
                          "sex": "男", "phone": f"139{i:08d}",
                          "address": "", "household_no": "", "local_hukou": True, "notes": "",
                          "created_at": now, "updated_at": now, "version": 1})
    with ctx.engine.begin() as conn:
        conn.execute(insert(Resident), residents)
        batch = []
        for i in range(n_cases):
            state = rng.choice(STATES)
            created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 3650))
            fwd = state == "forwarded"
            due = now + dt.timedelta(hours=rng.randint(-96, 72)) if fwd else None
            batch.append({"id": new_id(), "committee_id": ident.committee_id, "case_number": f"B-{i:07d}",
                          "item_code": "MZ-01", "item_name": "高龄老人尊老金申领", "catalog_version": "bench",
                          "department": "民政", "mode": "转办", "state": state,
                          "applicant_id": residents[i % n_residents]["id"], "data": {}, "materials": {},
                          "draft_step": 0, "created_by_id": admin.id, "origin_device_code": ident.device_code,
                          "assignee_id": line.id if fwd else None, "assignee_queue": "民政" if fwd else None,
                          "due_at": due, "deadline_provisional": False, "forward_note": "", "reply_text": "",
                          "result_text": "", "refusal_reason": "", "redirect_to": "", "verification_code": "X",
                          "created_at": created, "updated_at": created, "version": 1})
            if len(batch) == 10_000:
                conn.execute(insert(Case), batch)
                batch = []
        if batch:
            conn.execute(insert(Case), batch)


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench_worklist(args) -> int:
    n_cases = 5_000 if getattr(args, "quick", False) else 150_000
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext.open(Path(tmp))
        initialise_desk(ctx, FirstRunInput(committee_name="基准测试居委会", committee_code="B001",
                                           admin_login="admin", admin_name="管理员", admin_password="benchpass"))
        t = time.perf_counter()
        _seed(ctx, n_cases, max(1000, n_cases // 3))
        print(f"seeded {n_cases:,} cases in {time.perf_counter() - t:.1f} s")
        wl = WorklistService(ctx)
        auth = AuthService(ctx)
        workers = {w.login: w for w, _ in auth.list_workers()}
        print(f"{'tab':<12}{'worker':<8}{'rows':>8}{'open ms':>10}{'page 50 ms':>12}")
        for key, _label in TABS:
            for login in ("line", "admin"):
                w = workers[login]
                total = wl.count(key, w)
                open_ms = _median_ms(lambda key=key, w=w: (wl.count(key, w), wl.page(key, w, limit=100)), 7)
                deep = max(0, min(total - 100, 50 * 100))
                page_ms = _median_ms(lambda key=key, w=w, deep=deep: wl.page(key, w, offset=deep, limit=100), 7)
                print(f"{key:<12}{login:<8}{total:>8}{open_ms:>10.1f}{page_ms:>12.1f}")
        ctx.close()
    print("open = count + first 100 rows (what opening a tab does); page 50 = rows 5,000–5,100 (or the last page). "
          "Medians of 7 runs. Target < 150 ms.")
    return 0
