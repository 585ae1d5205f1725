"""The process-wide catalog and the ItemRef a case stores (name, department, mode, catalog version).

Which catalog a desk uses: the version last received from the district server (``<data_dir>/catalog/``)
when it loads with at least one usable item, else the catalog bundled in ``forms/items``. A catalog that
arrives while the app runs takes effect at the next start, so no wizard changes its questions mid-way.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from app.desk.cases import CaseError, ItemRef

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _load(items_dir: Path | None):
    from app.desk.catalog.search import CatalogService
    svc = CatalogService(items_dir)
    svc.load()
    return svc


def shared_catalog(data_dir: Path | None = None):
    """Loaded once per process (~tens of ms); the catalog is read-only data."""
    if data_dir is not None:
        from app.desk.catalog.store import current_catalog_dir
        folder = current_catalog_dir(Path(data_dir))
        if folder is not None:
            svc = _load(folder)
            if svc.catalog.items:
                return svc
            log.error("catalog received from the server has no usable item (%d errors); using the bundled one",
                      len(svc.catalog.errors))
    return _load(None)


def item_ref(code: str, catalog=None) -> ItemRef:
    svc = catalog or shared_catalog()
    item = svc.get(code)
    if item is None:
        reason = svc.catalog.unavailable.get(code)
        raise CaseError(f"事项 {code} 暂不可用：{reason}" if reason else f"找不到事项 {code}")
    return ItemRef(item.code, item.name, item.department, item.mode, svc.catalog.version_label[:32])


def item_documents(code: str, data_dir: Path | None = None) -> frozenset:
    """What the item prints beyond its case's state documents (证明, 申请表): see ``machine.item_paper``."""
    from app.core.machine import item_paper
    return item_paper(shared_catalog(data_dir).get(code))
