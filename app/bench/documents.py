"""How long printing takes: the first document (cold font) and a receipt once the font is loaded.

Run with ``python -m app.bench.documents``. Target: a receipt in under 50 ms once warm, so the
print button never feels slow; the first document of a session may pay ~0.1–0.2 s more for
parsing the 4 MB CJK font.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from app.core.paths import PROJECT_DIR

TARGET_MS = 50.0

# Runs in a fresh interpreter so nothing (font, reportlab modules) is cached yet.
_COLD_SCRIPT = """
import json, time
t0 = time.perf_counter()
from app.demo.samples import sample_document
from app.desk.printing.render import render
t1 = time.perf_counter()
data = sample_document("receipt")
render(data, "a4")
t2 = time.perf_counter()
render(data, "a4")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "second": t3 - t2}))
"""


def _cold() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])))
    out = subprocess.run(
        [sys.executable, "-c", _COLD_SCRIPT], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _warm_median_ms(layout: str, runs: int) -> float:
    from app.demo.samples import sample_document
    from app.desk.printing.fonts import ensure_fonts
    from app.desk.printing.render import render

    ensure_fonts()
    data = sample_document("receipt")
    render(data, layout)  # warm up reportlab's own caches too
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render(data, layout)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_documents(runs: int = 40) -> dict:
    """Measure and print; returns the figures in milliseconds."""
    from app.desk.printing.layout import LAYOUTS

    cold = _cold()
    by_layout = {layout: round(_warm_median_ms(layout, runs), 1) for layout in LAYOUTS}
    result = {
        "cold_import_ms": round(cold["import"] * 1000, 1),
        "cold_first_document_ms": round(cold["first"] * 1000, 1),
        "cold_second_document_ms": round(cold["second"] * 1000, 1),
        "warm_receipt_median_ms": by_layout["a4"],
        "warm_receipt_median_ms_by_layout": by_layout,
        "runs": runs,
        "target_ms": TARGET_MS,
        "meets_target": max(by_layout.values()) < TARGET_MS,
    }
    print(f"first document, cold (font loading included): {result['cold_first_document_ms']:.1f} ms"
          f" (+ {result['cold_import_ms']:.1f} ms import; second document {result['cold_second_document_ms']:.1f} ms)")
    for layout, ms in by_layout.items():
        print(f"receipt {layout:<9} median of {runs}: {ms:.1f} ms (target < {TARGET_MS:.0f} ms)")
    return result


def bench_documents_cmd(args) -> int:
    """Entry for ``main.py bench documents`` (app/cli/bench.py); ``--quick`` takes fewer runs."""
    bench_documents(runs=5 if getattr(args, "quick", False) else 40)
    return 0


if __name__ == "__main__":
    bench_documents()
