"""A snapshot's pages, fetched one ahead (issue 18, fast first download).

The desk asks for large pages (:data:`PAGE_ROWS`; the server also ends a page at ``wire.MAX_SNAPSHOT_BYTES``)
and, while it writes one page in its own transaction, the next one is already being fetched on a helper thread:
the server reads and encodes while the desk inserts. Only the fetching happens there — every database write
stays on the caller's thread, in page order, one transaction per page, so an interrupted download leaves whole
pages only and the next snapshot simply writes them again (rows are upserted by id).

A server from before issue 18 refuses more than ``wire.LEGACY_MAX_SNAPSHOT_PAGE`` rows per page (422); the
download then goes on with pages of that size.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.core.errors import UserError
from app.core.wire import LEGACY_MAX_SNAPSHOT_PAGE, MAX_SNAPSHOT_PAGE, SnapshotPage, SnapshotQuery

PAGE_ROWS = MAX_SNAPSHOT_PAGE
BAD_REQUEST = 422

Fetch = Callable[[SnapshotQuery], SnapshotPage]
Apply = Callable[[str, list[Any]], None]


class _Pages:
    """Fetches the pages of ``kinds`` in order, each query built from the page before."""

    def __init__(self, fetch: Fetch, kinds: list[str], page_rows: int):
        self._fetch, self._kinds, self.limit = fetch, kinds, max(1, min(page_rows, MAX_SNAPSHOT_PAGE))

    def get(self, index: int, after: str) -> SnapshotPage:
        query = SnapshotQuery(kind=self._kinds[index], after=after, limit=self.limit)
        try:
            return self._fetch(query)
        except UserError as e:
            if getattr(e, "status", None) != BAD_REQUEST or self.limit <= LEGACY_MAX_SNAPSHOT_PAGE:
                raise
        self.limit = LEGACY_MAX_SNAPSHOT_PAGE  # an older server: its largest page from now on
        return self._fetch(query.model_copy(update={"limit": self.limit}))

    def following(self, index: int, page: SnapshotPage) -> tuple[int, str] | None:
        """Where the page after ``page`` (of kind ``index``) starts: the same kind's next page, or the next kind."""
        if page.has_more:
            return index, page.next_after
        return (index + 1, "") if index + 1 < len(self._kinds) else None


def download(fetch: Fetch, kinds: list[str], apply: Apply, *, page_rows: int | None = None) -> int:
    """Every page of every kind in ``kinds``, in order: ``apply(kind, rows)`` for each, on this thread, while
    the next page is fetched by ``fetch`` on another. An error of either stops the download (raised here once
    the page before it has been applied or has failed). How many pages."""
    if not kinds:
        return 0
    pages = _Pages(fetch, kinds, PAGE_ROWS if page_rows is None else page_rows)
    done = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-fetch") as pool:
        where: tuple[int, str] | None = (0, "")
        pending: Future[SnapshotPage] = pool.submit(pages.get, 0, "")
        try:
            while where is not None:
                index = where[0]
                page = pending.result()
                where = pages.following(index, page)
                if where is not None:  # fetched while this page is written
                    pending = pool.submit(pages.get, *where)
                apply(kinds[index], page.rows)
                done += 1
        finally:
            pending.cancel()
    return done
