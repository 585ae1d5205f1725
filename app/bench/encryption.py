"""``bench encryption``: what encrypting the desk database costs, measured in one run on the same data, once with
the database plain (as before issue 14) and once encrypted (SQLCipher): start-up (``AppContext.open`` on a
folder holding the cases), each worklist tab's open and a deep page, a resident search, and a backup."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from app.bench.worklist import _median_ms as median_ms  # one timing helper for every bench
from app.bench.worklist import _seed
from app.desk.auth import AuthService
from app.desk.backup import backup
from app.desk.context import AppContext
from app.desk.residents import ResidentService
from app.desk.setup import FirstRunInput, initialise_desk
from app.desk.worklist import TABS, WorklistService

REPEAT = 7


def _median_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    return median_ms(fn, repeat)


def _measure(folder: Path, n_cases: int, encrypted: bool) -> dict[str, float]:
    ctx = AppContext.open(folder, encrypted=encrypted)
    initialise_desk(ctx, FirstRunInput(committee_name="基准测试居委会", committee_code="B001",
                                       admin_login="admin", admin_name="管理员", admin_password="benchpass"))
    _seed(ctx, n_cases, max(1000, n_cases // 3))
    ctx.close()
    figures: dict[str, float] = {}

    def start() -> None:
        AppContext.open(folder, encrypted=encrypted).close()
    figures["start-up (context open)"] = _median_ms(start)
    ctx = AppContext.open(folder, encrypted=encrypted)
    try:
        wl, auth = WorklistService(ctx), AuthService(ctx)
        admin = {w.login: w for w, _ in auth.list_workers()}["admin"]
        for key, _label in TABS:
            deep = max(0, min(wl.count(key, admin) - 100, 5000))

            def open_tab(key: str = key) -> None:
                wl.count(key, admin)
                wl.page(key, admin, limit=100)

            def deep_page(key: str = key, deep: int = deep) -> None:
                wl.page(key, admin, offset=deep, limit=100)
            figures[f"worklist {key} open"] = _median_ms(open_tab)
            figures[f"worklist {key} page 50"] = _median_ms(deep_page)
        residents = ResidentService(ctx)
        figures["resident search"] = _median_ms(lambda: residents.search("居民12"))
        out = folder.parent / f"backup-{'enc' if encrypted else 'plain'}.sqlite3"
        figures["backup"] = _median_ms(lambda: backup(folder, out), 3)
    finally:
        ctx.close()
    return figures


def bench_encryption(args) -> int:
    n_cases = 5_000 if getattr(args, "quick", False) else 150_000
    with tempfile.TemporaryDirectory() as tmp:
        plain = _measure(Path(tmp) / "plain", n_cases, encrypted=False)
        enc = _measure(Path(tmp) / "encrypted", n_cases, encrypted=True)
    print(f"{n_cases:,} cases; medians of {REPEAT} runs (backup: 3) in ms")
    print(f"{'figure':<32}{'plain':>10}{'encrypted':>12}{'ratio':>8}")
    for name, before in plain.items():
        after = enc[name]
        print(f"{name:<32}{before:>10.1f}{after:>12.1f}{after / before if before else 0:>8.2f}")
    return 0
