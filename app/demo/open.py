"""The desk's data folder as the app and the commands open it, with ``--demo``: the demo data module (and the
case services it seeds with) is loaded only when a folder holding no desk yet is to be seeded."""

from __future__ import annotations

from app.desk.context import AppContext


def open_desk(data_dir, demo: bool) -> tuple[AppContext, bool]:
    """The desk's data folder, and whether it was just seeded: with ``demo`` a folder holding no desk yet
    gets the demo data first."""
    ctx = AppContext.open(data_dir)
    if demo and not ctx.is_initialised():
        from app.demo.seed import seed_demo
        from app.desk.catalog.refs import item_ref
        return ctx, seed_demo(ctx, item_ref)
    return ctx, False
