"""``python main.py bench catalog``: cold catalog load and per-keystroke search (medians; never asserts)."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from app.cli.catalog import _items_dir
from app.core.paths import FORMS_ITEMS_DIR
from app.desk.catalog import search as catalog_module
from app.desk.catalog.search import CatalogService
from forms import expr
from forms.loader import load_catalog

BENCH_QUERIES = ("zunlaojin", "gljt", "低保", "残疾", "dibao", "juzhuzheng", "shebaoka", "changhuxian",
                 "社保卡丢了", "城乡居民养老保险", "居主证", "邻居吵架")  # the last four: overlap and sound


def bench_catalog(items_dir: Path | None = None, loads: int = 5) -> dict:
    """Median cold load times and median per-keystroke search time; prints and returns the figures.

    ``load_ms_median`` is the loader alone (YAML, schema, expression checks); ``service_load_ms_median``
    adds building the pinyin index. Caches are cleared before each run so every load is cold.
    """
    items_dir = items_dir or FORMS_ITEMS_DIR
    loader_ms, service_ms = [], []
    service = CatalogService(items_dir)
    for _ in range(loads):
        _clear_caches()
        loader_ms.append(_timed(lambda: load_catalog(items_dir)))
        _clear_caches()
        service_ms.append(_timed(service.load))
    key_ms = [_timed(lambda q=q[:n]: service.search(q)) for q in BENCH_QUERIES for n in range(1, len(q) + 1)]
    result = {
        "items": len(service.catalog),
        "load_ms_median": round(statistics.median(loader_ms), 2),
        "service_load_ms_median": round(statistics.median(service_ms), 2),
        "search_ms_median": round(statistics.median(key_ms), 3),
        "search_ms_max": round(max(key_ms), 3),
        "keystrokes": len(key_ms),
    }
    print(f"目录加载（{result['items']} 项，冷加载中位数）：{result['load_ms_median']} ms；"
          f"含拼音索引：{result['service_load_ms_median']} ms")
    print(f"逐字搜索（{result['keystrokes']} 次按键）：中位数 {result['search_ms_median']} ms，"
          f"最大 {result['search_ms_max']} ms")
    return result


def bench_catalog_cmd(args: argparse.Namespace) -> int:
    """Entry for ``main.py bench catalog [--quick]``."""
    bench_catalog(_items_dir(args), loads=2 if getattr(args, "quick", False) else 5)
    return 0


def _clear_caches() -> None:
    expr.compile_expr.cache_clear()
    catalog_module._make_key.cache_clear()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000
