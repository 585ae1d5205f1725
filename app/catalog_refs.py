"""Resolve an item code to the ItemRef a case stores (name, department, mode, catalog version)."""

from __future__ import annotations

from functools import lru_cache

from app.cases import ItemRef


@lru_cache(maxsize=1)
def _catalog():
    from app.catalog import CatalogService
    return CatalogService.default()


def item_ref(code: str) -> ItemRef:
    return _catalog().item_ref(code)
