"""``python main.py bench startup``: how long the program takes to show its login window, against a bare Qt dialog
started by the same program in the same run (issue 17), with the peak memory of each.

Both are whole processes timed from spawn until they print their probe line (``ONEDESK_STARTUP_PROBE``): the app
on a desk folder made once beforehand (first run with demo data, not timed), the floor with
``ONEDESK_STARTUP_PROBE=bare`` (main.py shows a bare dialog before importing anything of OneDesk). Runs alternate
app / floor so that a noisy machine weighs on both; the figures are medians. Peak memory is the child's maximum
resident set size (``wait4``; POSIX only). ``--program`` times another build of the same program, e.g. the
installed package (``/opt/apps/cn.onedesk.desk/files/onedesk``) or the frozen folder; ``--floor-program`` takes
the floor from another one (an older checkout has no bare probe).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from app.core.paths import PROJECT_DIR

TIMEOUT_S = 120


@dataclass
class Run:
    wall_ms: float  # spawn → probe line, seen from this process
    inner_ms: float  # what the program itself reports (from its first line of Python)
    peak_mb: float | None


def default_program() -> list[str]:
    """This program: the frozen executable when frozen, else this Python with main.py."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, str(PROJECT_DIR / "main.py")]


def _env(probe: str) -> dict[str, str]:
    env = dict(os.environ, ONEDESK_STARTUP_PROBE=probe)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def run_once(cmd: list[str], probe: str) -> Run:
    """One start: spawn ``cmd``, wait for its ``startup_ms=`` line, let it exit, read its peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=_env(probe), text=True, encoding="utf-8")
    assert proc.stdout is not None
    wall = inner = None
    deadline = start + TIMEOUT_S
    for line in proc.stdout:
        if line.startswith("startup_ms="):
            wall = (time.perf_counter() - start) * 1000
            inner = float(line.split()[0].split("=", 1)[1])
            break
        if time.perf_counter() > deadline:
            break
    proc.stdout.close()
    peak = None
    if hasattr(os, "wait4"):
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            peak = usage.ru_maxrss / 1024  # kilobytes on Linux
        except ChildProcessError:
            proc.wait()
    else:
        proc.wait(timeout=TIMEOUT_S)
    if wall is None or inner is None:
        raise RuntimeError(f"启动测量失败：{' '.join(cmd)} 没有报告窗口已显示（退出码 {proc.returncode}）")
    return Run(wall, inner, peak)


def prepare_desk(cmd: list[str], folder: Path) -> None:
    """A desk folder at its login window: the first run with demo data, once, not timed."""
    run_once(cmd + ["--demo", "--data-dir", str(folder)], "1")


def measure(cmd: list[str], runs: int, floor_cmd: list[str] | None = None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="onedesk-bench-startup-"))
    try:
        prepare_desk(cmd, folder)
        app_runs: list[Run] = []
        floor_runs: list[Run] = []
        for _ in range(runs):
            app_runs.append(run_once(cmd + ["--data-dir", str(folder)], "1"))
            floor_runs.append(run_once(floor_cmd or cmd, "bare"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def med(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 1) if known else None

    app_ms, floor_ms = med([r.wall_ms for r in app_runs]), med([r.wall_ms for r in floor_runs])
    assert app_ms is not None and floor_ms is not None
    return {
        "program": " ".join(cmd),
        "floor_program": " ".join(floor_cmd or cmd),
        "runs": runs,
        "login_window_ms": app_ms,
        "bare_qt_ms": floor_ms,
        "ratio": round(app_ms / floor_ms, 2),
        "login_window_inner_ms": med([r.inner_ms for r in app_runs]),
        "bare_qt_inner_ms": med([r.inner_ms for r in floor_runs]),
        "peak_memory_mb": med([r.peak_mb for r in app_runs]),
        "bare_qt_peak_memory_mb": med([r.peak_mb for r in floor_runs]),
        "target_ratio": 4.0,
    }


def bench_startup(args) -> int:
    cmd = list(args.program) if args.program else default_program()
    runs = args.runs or (3 if args.quick else 9)
    figures = measure(cmd, runs, list(args.floor_program) if args.floor_program else None)
    mem = figures["peak_memory_mb"]
    print(f"程序：{figures['program']}（每项 {runs} 次，取中位数）")
    print(f"  显示登录窗口  {figures['login_window_ms']:8.1f} ms   峰值内存 {mem if mem is not None else '—'} MB")
    print(f"  空白 Qt 对话框 {figures['bare_qt_ms']:8.1f} ms   峰值内存 "
          f"{figures['bare_qt_peak_memory_mb'] if mem is not None else '—'} MB")
    print(f"  倍数 {figures['ratio']:.2f}×（目标 ≤ {figures['target_ratio']:.0f}×）")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"已写入 {args.json}")
    return 0
