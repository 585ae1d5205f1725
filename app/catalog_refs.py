"""The process-wide catalog and the ItemRef a case stores (name, department, mode, catalog version)."""

from __future__ import annotations

from functools import lru_cache

from app.cases import CaseError, ItemRef


@lru_cache(maxsize=1)
def shared_catalog():
    """Loaded once per process (~tens of ms); the catalog is read-only data."""
    from app.catalog import CatalogService
    svc = CatalogService()
    svc.load()
    return svc


def item_ref(code: str, catalog=None) -> ItemRef:
    svc = catalog or shared_catalog()
    item = svc.get(code)
    if item is None:
        reason = svc.catalog.unavailable.get(code)
        raise CaseError(f"事项 {code} 暂不可用：{reason}" if reason else f"找不到事项 {code}")
    return ItemRef(item.code, item.name, item.department, item.mode, svc.catalog.version_label[:32])
