"""The sync protocol between desks and the district server: every request and answer body as a pydantic
model, the error body, the paths and the limits. The server's routes declare these models and the desk's
client builds and parses them, so both sides read one schema and neither picks fields out of dicts.

Rows inside an answer (a case, resident, worker or committee in ``cases``, ``residents``, a change's ``data``,
a snapshot's ``rows``) are payloads as :mod:`app.core.payloads` writes them and stay plain JSON objects; a
command's ``args`` likewise (:mod:`app.core.commands` types them per command). Answers ignore keys they do
not know, so a newer server can add fields without breaking older desks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.core.limits import MAX_JSON_DEPTH, clean_text, storable
from app.core.vocabulary import Mutation

API_VERSION = 1

# ----- limits: the server enforces them, the desk sizes its requests by them ------------------------------------
MAX_BATCH = 500  # commands in one push
MAX_NAME_LENGTH = 64  # a command name
MAX_PULL_PAGE, DEFAULT_PULL_PAGE = 1000, 500  # changes in one pull page
# Rows in one snapshot page (issue 18: a fresh desk takes 10,000 cases in a few pages). A page also stops once its
# rows' JSON reaches MAX_SNAPSHOT_BYTES (at least one row): large cases make shorter pages, never huge answers.
MAX_SNAPSHOT_PAGE, DEFAULT_SNAPSHOT_PAGE = 5000, 2000
LEGACY_MAX_SNAPSHOT_PAGE = 500  # what servers before issue 18 accept: a desk asks that much of one which refuses more
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024
SNAPSHOT_KINDS = ("committee", "worker", "resident", "case", "attachment", "calendar", "catalog")  # in apply order
MAX_BODY_BYTES = 4 * 1024 * 1024  # one request body (app/server/body_limits.py counts the bytes as they arrive)
# Nesting of a request body: the envelope (body, mutations, a command, its args, a field) around a JSON value of
# at most limits.MAX_JSON_DEPTH, so any value a command's schema accepts fits; anything deeper is refused unread.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8
MAX_SEQ = 2 ** 53 - 1  # mids and cursor seqs: exact as JSON numbers, within the database's BIGINT
MAX_ID_TEXT = 100  # an id, code or cursor sent as text (a UUID is 36, a cursor "<seq>-<tag>" under 30)

BATCH_TOO_LARGE = f"一次最多上传 {MAX_BATCH} 条"
DUPLICATE_MIDS = "同一批次中有重复的序号"


class Endpoint(StrEnum):
    HEALTH = "/v1/health"
    # For the district's monitoring (issue 18, app/server/metrics.py), not the desks: whether the database answers
    # (200 or 503, Readiness), and the Prometheus text format.
    READY = "/v1/ready"
    METRICS = "/metrics"
    ENROLL = "/v1/enroll"
    PUSH = "/v1/push"
    PULL = "/v1/pull"
    SNAPSHOT_START = "/v1/snapshot/start"
    SNAPSHOT = "/v1/snapshot"
    TOKEN_RENEW = "/v1/token/renew"
    # Attachments' bytes (issue 15), by sha256: GET FILE → FileStatus; PUT FILE?offset=N with a chunk as the
    # body (application/octet-stream) → FileStatus (409 OFFSET with the server's offset to resume from; the
    # last chunk's sha256 checked, 422 BAD_HASH); GET FILE_CONTENT with a Range header → the bytes.
    FILE = "/v1/files/{sha256}"
    FILE_CONTENT = "/v1/files/{sha256}/content"
    # A published package of the desk program (issue 17), by the sha256 the pull named: GET → the bytes.
    RELEASE = "/v1/releases/{sha256}"
    # The resident's progress page behind the receipt's QR code (no login; state and due date only).
    VERIFY = "/v/{case_number}"


class ErrorCode(StrEnum):
    """``detail.error`` of a refusal: what the desk decides on (the Chinese ``message`` is for the worker)."""

    UNAUTHORIZED = "unauthorized"  # 401
    RATE_LIMITED = "rate_limited"  # 429: wait Retry-After seconds
    REVOKED = "revoked"  # 403
    ENROLL_REFUSED = "enroll_refused"  # 400
    BAD_BATCH = "bad_batch"  # 400
    BAD_KIND = "bad_kind"  # 400
    BAD_AFTER = "bad_after"  # 400
    GAP = "gap"  # 409: resend from last_mid + 1
    MID_CONFLICT = "mid_conflict"  # 409: renumber the unsent commands after last_mid
    UNKNOWN_CURSOR = "unknown_cursor"  # 410: take a snapshot
    UNAVAILABLE = "unavailable"  # 503: retry later
    TOO_LARGE = "too_large"  # 413: the body is over MAX_BODY_BYTES
    OFFSET = "offset"  # 409 (files): the chunk does not start where the server's copy ends; resume at ``received``
    BAD_HASH = "bad_hash"  # 422 (files): the bytes received do not match the sha256; the partial copy is dropped
    NO_FILE = "no_file"  # 404 (files): no case of this committee refers to the file, or the server lacks its bytes
    BAD_REQUEST = "bad_request"  # 422: the body or query does not fit this schema (too deep, not UTF-8, a bad value)


class ResultStatus(StrEnum):
    APPLIED = "applied"
    SET_ASIDE = "set_aside"  # refused or unprocessable; ``reason`` says why in Chinese
    # Waiting for the command it was made after (the server was restored from a backup and another desk has not
    # sent that one again yet); applied in its original order once it arrives. Ask again with the same mid.
    HELD = "held"


def _utc_if_naive(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _known_command(name: str) -> str:
    """A known name becomes its :class:`Mutation`; an unknown one stays a plain string, because the server sets
    an unknown command aside with a reason instead of refusing the whole batch (a newer desk, an older server)."""
    try:
        return Mutation(name)
    except ValueError:
        return name


def _not_a_number(value: Any) -> Any:
    """An instant travels as ISO text; a bare number (pydantic would read it as a Unix time) is refused."""
    if isinstance(value, (int, float)):
        raise ValueError("not an instant")
    return value


# An instant without offset is UTC.
Instant = Annotated[dt.datetime, BeforeValidator(_not_a_number), AfterValidator(_utc_if_naive)]
# What app.core.limits.storable refuses, as a JSON-schema pattern for the docs and fuzzers (storable checks; a
# lone surrogate, which it refuses too, is a matter of the JSON text, not of a pattern over code points).
STORABLE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
# Text of the envelope (ids, codes, names, cursors): bounded, and nothing a database cannot store.
IdText = Annotated[str, Field(max_length=MAX_ID_TEXT, json_schema_extra={"pattern": STORABLE_PATTERN}),
                   AfterValidator(storable)]
def _any_name(name: Any) -> Any:
    """A name no version knows is still read (cleaned of what cannot be stored, cut to length), so that command is
    set aside with a reason instead of the whole batch being refused."""
    return clean_text(name, MAX_NAME_LENGTH) if isinstance(name, str) else name


CommandName = Annotated[str, BeforeValidator(_any_name),
                        # No maxLength: a longer name is read cut to MAX_NAME_LENGTH and set aside like any unknown.
                        Field(examples=[m.value for m in Mutation],
                              description="操作名；区服务器不认识的操作会被单独搁置并说明原因，不影响同批其他操作"),
                        AfterValidator(_known_command)]
Row = dict[str, Any]  # a payload row (app/core/payloads.py)


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def wire(self) -> dict[str, Any]:
        """The JSON form, as sent (UUIDs and instants as strings)."""
        return self.model_dump(mode="json")


class ServerAnswer(WireModel):
    """Every successful answer carries the server's clock, from which the desk measures its own offset."""

    server_time: Instant


# ----- errors ---------------------------------------------------------------------------------------------------
class ErrorDetail(WireModel):
    error: str  # an ErrorCode; kept open so a newer server's code still yields its message
    message: str  # Chinese, shown to the worker as it is
    last_mid: int | None = None  # 409: the last command the server holds from this device


class ErrorBody(WireModel):
    """The body of every refusal: ``{"detail": {"error": code, "message": Chinese text, ...}}``."""

    detail: ErrorDetail


# ----- status and enrolment -------------------------------------------------------------------------------------
class Health(ServerAnswer):
    status: str = "ok"
    api: int = API_VERSION


class Readiness(ServerAnswer):
    """``GET /v1/ready``: 200 when the server can serve (its database answers), else 503 with ``unavailable``."""

    status: str = "ok"  # "ok" | "unavailable"
    database: str = "ok"  # "ok" | "unreachable": never the error itself (it could name the host or the role)


class EnrollRequest(WireModel):
    code: IdText = Field(description="一次性注册码（15 分钟内有效）")
    committee_code: IdText = ""  # the desk's own committee, when it was set up alone: must match the code's
    # wanted (the server picks another if it is taken), and the desk's name for itself: the columns' lengths
    device_code: Annotated[str, Field(max_length=16, json_schema_extra={"pattern": STORABLE_PATTERN}),
                           AfterValidator(storable)] = ""
    device_name: Annotated[str, Field(max_length=100, json_schema_extra={"pattern": STORABLE_PATTERN}),
                           AfterValidator(storable)] = ""


class CommitteeRow(WireModel):
    """A committee payload row; what the desk needs at enrolment is typed, the other columns travel as they are."""

    model_config = ConfigDict(extra="allow")
    id: uuid.UUID
    code: str
    name: str

    def row(self) -> Row:
        return self.model_dump(mode="json")


class EnrollResponse(ServerAnswer):
    device_id: str
    token: str  # shown once; the server keeps only its hash
    device_code: str
    committee: CommitteeRow


TOKEN_LIFETIME = dt.timedelta(days=30)  # a device token stops working this long after it was issued
TOKEN_RENEW_WINDOW = dt.timedelta(days=7)  # ... and is renewed in its last week (a desk online weekly never lapses)


class TokenRenewal(ServerAnswer):
    """``POST /v1/token/renew``: a new token once the current one is near expiry (the old one then stops
    working), else ``token`` None and the current one's expiry."""

    token: str | None = None
    expires_at: Instant


# ----- push -----------------------------------------------------------------------------------------------------
class MutationIn(WireModel):
    """One desk command. ``mid`` is the device's gap-free sequence number; ``mutation_id`` makes it idempotent."""

    mid: int = Field(ge=1, le=MAX_SEQ)
    mutation_id: uuid.UUID
    name: CommandName
    # Read as it comes: arguments that do not fit (not an object, a key that cannot be stored) set that command
    # aside with a reason (app/core/commands.py parse_args) instead of refusing the whole batch.
    args: Annotated[Any, Field(description="操作内容（JSON 对象）；不符合该操作格式的会被单独搁置并说明原因")] = {}
    acting_worker: uuid.UUID | None = None
    client_time: Instant  # the desk's own clock when the action was taken
    # Server minus desk clock, seconds, as the desk knew it when the action was taken; None: it did not know (or an
    # older desk). The server dates the command client_time + this offset, else + the offset it measures now.
    clock_offset_s: Annotated[float, Field(strict=True)] | None = None  # a number: true/false are refused

    @property
    def command(self) -> Mutation | None:
        """The command this version knows by that name, or None."""
        return self.name if isinstance(self.name, Mutation) else None


class PushRequest(WireModel):
    device_id: IdText = ""
    client_now: Instant | None = None  # the desk's clock when sending: the server measures the desk's offset
    # The limit is checked by batch_problem (a Chinese 400), not by validation (an opaque 422); listed for the docs.
    mutations: list[MutationIn] = Field(json_schema_extra={"maxItems": MAX_BATCH})

    def batch_problem(self) -> str | None:
        """Why the server refuses this batch as a whole, in Chinese; None when it may be applied."""
        if len(self.mutations) > MAX_BATCH:
            return BATCH_TOO_LARGE
        if len({m.mid for m in self.mutations}) != len(self.mutations):
            return DUPLICATE_MIDS
        return None


class MutationResult(WireModel):
    mid: int
    mutation_id: uuid.UUID
    status: ResultStatus
    reason: str  # Chinese; why a command was set aside
    result: dict[str, Any]  # e.g. {"case_id": ...}: what the command touched
    duplicate: bool  # pushed before: the stored outcome, without a second effect


class PushResponse(ServerAnswer):
    last_mid: int
    results: list[MutationResult]
    cases: list[Row]  # the server's state of every case the batch touched or mentioned
    residents: list[Row]


# ----- pull and snapshot ----------------------------------------------------------------------------------------
class PullQuery(WireModel):
    cursor: IdText = "0"
    limit: int = Field(DEFAULT_PULL_PAGE, ge=1, le=MAX_PULL_PAGE)


class Change(WireModel):
    seq: int
    entity: str  # a snapshot kind; a desk ignores kinds it does not know (newer server)
    id: str
    # A payload row; read as it comes, so one the desk cannot use is set aside alone (app/desk/sync/apply.py)
    # instead of the whole page being refused and the cursor never moving past it.
    data: Annotated[Any, Field(json_schema_extra={"type": "object"})]


class ReleaseInfo(WireModel):
    """A package of the desk program the district published (``server release publish``, issue 17)."""

    platform: str  # app.core.releases.Platform: linux-deb, windows-msi
    version: str  # four numeric parts
    sha256: str
    size: int
    file_name: str
    published_at: Instant


class PullPage(ServerAnswer):
    changes: list[Change]
    next_cursor: str
    has_more: bool
    last_mid: int  # what the server holds from this device: a restored server has forgotten some
    # The newest published package per platform (ReleaseInfo rows); None from a server that predates them. Read one
    # by one on the desk (app/desk/updates.py), so a row it cannot use is skipped alone, never the page.
    releases: list[Annotated[Any, Field(json_schema_extra={"type": "object"})]] | None = None


class SnapshotStart(ServerAnswer):
    cursor: str  # where to pull from once every page has been read
    last_mid: int
    kinds: list[str]


class SnapshotQuery(WireModel):
    kind: IdText
    after: IdText = ""  # the last id of the previous page
    limit: int = Field(DEFAULT_SNAPSHOT_PAGE, ge=1, le=MAX_SNAPSHOT_PAGE)


class SnapshotPage(ServerAnswer):
    kind: str
    rows: list[Annotated[Any, Field(json_schema_extra={"type": "object"})]]  # payload rows, checked one by one
    has_more: bool
    next_after: str


class FileStatus(BaseModel):
    """The server's copy of one attachment file: how many bytes it has, and whether all of them (hash checked)."""

    sha256: str
    size: int
    received: int
    complete: bool
