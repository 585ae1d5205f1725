"""Typed schema of a service item (事项) and of the catalog that holds them.

The YAML files in ``forms/items`` are parsed into these pydantic models. Unknown attributes are
refused (``extra="forbid"``) so a misspelt ``visble_if`` is an authoring error, not a silent no-op.
Cross-references (expressions, duplicate keys) are checked by :mod:`forms.loader`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr, ValidationInfo, model_validator
from pydantic import Field as PydField

from forms.dependencies import EvaluationOrder, evaluation_order
from forms.kinds import KINDS, FieldKind
from forms.policy import Policy

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_cjk(text: object) -> bool:
    return isinstance(text, str) and bool(_CJK.search(text))


# Validation context under which the Chinese-text rule is not applied. The loader uses it for a second,
# lenient pass so the expression/reference checks still run on an item whose labels are not Chinese yet,
# and one ``catalog validate`` reports every error of the file at once.
LENIENT = {"lenient": True}


def _chinese(value: str, info: ValidationInfo) -> str:
    # Workers read every label and message; an English or empty label is an authoring mistake.
    if not has_cjk(value) and not (info.context or {}).get("lenient"):
        raise ValueError("必须用中文填写（至少包含一个汉字）")
    return value


ChineseText = Annotated[str, AfterValidator(_chinese)]
# A choice option is both the stored value and the text the worker reads (and clicks), so it is Chinese too.
ChineseOption = Annotated[str, PydField(min_length=1, max_length=60), AfterValidator(_chinese)]
Expr = Annotated[str, PydField(min_length=1, max_length=2000)]
Key = Annotated[str, PydField(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

FIELD_TYPES = tuple(KINDS)  # one list of field types: the kinds of forms.kinds


def _known_type(value: str) -> str:
    if value not in KINDS:
        raise ValueError(f"未知字段类型「{value}」，可用类型：{', '.join(FIELD_TYPES)}")
    return value


FieldType = Annotated[str, AfterValidator(_known_type)]
MaterialForm = Literal["原件", "复印件", "原件及复印件"]
Mode = Literal["即办", "转办"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Rule(_Model):
    """A condition with the Chinese message shown when it evaluates false."""

    rule: Expr
    message: ChineseText


RuleLevel = Literal["block", "warn", "info"]
RuleScope = Literal["本市", "本区县", "本街道", "居住证"]
# The applicant attribute each scope reads (app/core/residence.py derives them for a registered resident).
SCOPE_ATTRS: dict[str, str] = {"本市": "hukou_city_local", "本区县": "hukou_county_local",
                               "本街道": "hukou_street_local", "居住证": "residence_permit_valid"}
RULE_LEVELS: tuple[str, ...] = ("block", "warn", "info")
# What a worker or an administrator reads for each level (catalog show/check, the loader's messages).
RULE_LEVEL_LABELS: dict[str, str] = {"block": "阻止受理", "warn": "提示转办", "info": "指引"}


class EligibilityRule(Rule):
    """An eligibility rule of an item, with how much its failure weighs at the desk (issue 13).

    ``block``: the application cannot be accepted here at all (a legal impossibility, or the wrong place to
    apply — the message says where to go); ``warn``: the worker sees it, may record that the resident insists
    (居民坚持申请) and forwards, and the warning travels with the case to the department that decides;
    ``info``: guidance shown to the worker. A committee accepts and forwards; the department decides, so
    ``warn`` is the normal level on a 转办 item. ``level`` has no default: every rule states it.

    ``scope``: for a rule about 户籍 or 居住证 (rules.md §6), the place it means — 本市 / 本区县 / 本街道 户籍, or a
    valid 居住证 — and the ``applicant`` attribute it must read (:data:`SCOPE_ATTRS`); while that attribute is
    unknown (no 户籍地址 on record) the rule is undecided, not failed.
    """

    level: RuleLevel
    scope: RuleScope | None = None


class Field(_Model):
    """One input (or read-only computed value) of a step.

    What ``min``/``max`` and ``options`` mean depends on the type (:attr:`kind`): value bounds for number
    and money, length for text, longtext and address, number of selections for multichoice, number of
    rows for group; choices for choice/multichoice, allowed relations for person.
    ``sample``: an example value used by :func:`forms.validate.sample_submission` when the
    generic generator would not satisfy the field's constraints.
    ``household``: a repeat group listing the applicant's household, the applicant included; its rows are
    checked together (one 本人 row with the applicant's ID, unique IDs, relation and age, see :mod:`forms.household`).
    """

    key: Key
    label: ChineseText
    type: FieldType
    required: bool | Expr = False
    visible_if: Expr | None = None
    constraints: list[Rule] = []
    options: list[ChineseOption] = []
    compute: Expr | None = None
    help: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    integer: bool = False
    fields: list[Field] = []
    sample: Any = None
    household: bool = False

    @property
    def is_computed(self) -> bool:
        return self.compute is not None

    @property
    def kind(self) -> FieldKind:
        """How values of this field are parsed, checked, written, masked and sampled, and its editor."""
        return KINDS[self.type]


class Step(_Model):
    title: ChineseText
    help: str = ""
    visible_if: Expr | None = None
    fields: list[Field] = PydField(min_length=1)


class Material(_Model):
    """A document the resident brings; ``standard`` is printed on the one-time notice (一次性告知单).

    ``per``: the key of a repeat group of the item (``per: household``): ``count`` copies for each of its rows
    (each member's ID, each member's 户口簿 page); the check works out the effective count
    (``ValidationResult.material_counts``).
    """

    name: ChineseText
    form: MaterialForm
    count: int = PydField(1, ge=1, le=20)
    per: Key | None = None
    required: bool | Expr = True
    standard: ChineseText
    # 容缺受理 (rules.md §8): a minor material the case may be accepted without, on the applicant's written
    # pledge to bring it by a deadline. Only set on materials the department's decision does not rest on.
    deferrable: bool = False
    # Set by the loader on the materials of catalog.yaml ``agent_materials`` (the agent's ID, the 委托书), which it
    # adds to every item; item files do not list them (forms/agents.py).
    for_agent: bool = False
    # The item's application form (申请表/申请书): the desk prints it prefilled for the applicant to check and sign.
    application_form: bool = False


class Pledge(_Model):
    """告知承诺制 (国办发〔2020〕42号): the applicant may sign ``text`` instead of bringing the ``replaces`` proofs;
    the department checks later, and a false pledge has consequences."""

    text: ChineseText
    replaces: list[ChineseText] = PydField(min_length=1)
    basis: str = ""


class CertificateTemplate(_Model):
    """The 证明 an item issues (MZ-15): ``text`` is the certifying sentence, with ``{applicant}`` (name and
    masked ID) and ``{key}`` for the answer of a field; ``basis`` names the fields it rests on (the retained-list
    entry, how and where the fact was checked), printed with their labels."""

    text: ChineseText
    basis: list[Key] = PydField(min_length=1)

    def placeholders(self) -> list[str]:
        import string
        return [name for _, name, _, _ in string.Formatter().parse(self.text) if name]


class Computed(_Model):
    """An item-level derived value (e.g. per-capita income), shown read-only and usable in rules."""

    key: Key
    label: ChineseText
    expr: Expr
    unit: str = ""
    help: str = ""


class Tier(_Model):
    """One outcome level; the first tier whose ``when`` holds is shown (e.g. 尊老金 90–99 周岁档)."""

    when: Expr
    label: ChineseText
    note: str = ""


class SampleApplicant(_Model):
    """Who the demo/test applicant should be so the sample submission is eligible."""

    age: int = PydField(45, ge=0, le=110)
    sex: Literal["男", "女"] = "男"
    local_hukou: bool = True  # 户籍 in the committee's street (so its county and city); false: elsewhere (人户分离)
    residence_permit: bool = False  # holds a valid 居住证


class ServiceItem(_Model):
    code: Annotated[str, PydField(pattern=r"^[A-Z]{2}-\d{2}$")]
    official_code: str = ""
    name: ChineseText
    aliases: list[str] = []
    department: ChineseText
    category: ChineseText
    mode: Mode
    legal_basis: list[ChineseText] = PydField(min_length=1)
    conditions: list[ChineseText] = PydField(min_length=1)
    hints: list[ChineseText] = []
    fees: ChineseText = "不收费"
    time_limit: ChineseText
    forward_target: ChineseText
    materials: list[Material] = []
    steps: list[Step] = PydField(min_length=1)
    eligibility: list[EligibilityRule] = []
    computed: list[Computed] = []
    tier_title: ChineseText = "适用档次"
    tiers: list[Tier] = []
    sample_applicant: SampleApplicant = SampleApplicant()
    # An agent who is a close relative (forms/agents.py CLOSE_RELATIVES) brings no 委托书 for this item.
    agent_relative_exempt: bool = False
    # Duplicate check (issue 13): starting this item for a resident warns about an open case of it and, when
    # set, about one resolved or closed within this many days (e.g. 365 for a yearly item).
    repeat_window_days: int | None = PydField(None, ge=1, le=3660)
    pledge: Pledge | None = None
    certificate: CertificateTemplate | None = None

    _policy: Policy = PrivateAttr(default_factory=Policy)
    _source: str = PrivateAttr(default="")
    _order: EvaluationOrder | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _pledge_names_materials(self) -> ServiceItem:
        if self.pledge is not None:
            names = {m.name for m in self.materials}
            unknown = [n for n in self.pledge.replaces if n not in names]
            if unknown:
                raise ValueError(f"告知承诺制所替代的材料不在材料清单中：{'、'.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _certificate_names_fields(self) -> ServiceItem:
        if self.certificate is not None:
            keys = {f.key for _, f in self.iter_fields()}
            try:
                named = self.certificate.placeholders()
            except ValueError:
                raise ValueError("证明模板（certificate.text）的花括号不成对") from None
            unknown = [n for n in [*named, *self.certificate.basis] if n not in keys | {"applicant"}]
            if unknown:
                raise ValueError(f"证明模板引用了不存在的字段：{'、'.join(unknown)}")
        return self

    @property
    def application_form(self) -> Material | None:
        """The material that is the item's application form (printed prefilled), if any."""
        return next((m for m in self.materials if m.application_form), None)

    def iter_fields(self) -> Iterator[tuple[Step, Field]]:
        """Top-level fields with their step, in form order (group sub-fields not included)."""
        for step in self.steps:
            for field in step.fields:
                yield step, field

    def field(self, key: str) -> Field | None:
        return next((f for _, f in self.iter_fields() if f.key == key), None)

    def material(self, name: str) -> Material | None:
        return next((m for m in self.materials if m.name == name), None)

    @property
    def field_count(self) -> int:
        """Inputs a worker fills (a repeat group counts once; computed fields excluded)."""
        return sum(1 for _, f in self.iter_fields() if not f.is_computed)

    @property
    def policy(self) -> Policy:
        """Catalog-wide dated policy figures (e.g. the local 低保 line) the rules refer to as ``policy.x``.

        Rules see the value in force on the evaluation date (:meth:`forms.policy.Policy.on`).
        """
        return self._policy

    @property
    def source_file(self) -> str:
        return self._source

    @property
    def evaluation_order(self) -> EvaluationOrder:
        """In which order visibility and computed values are worked out (see :mod:`forms.dependencies`).

        The loader derives it when it loads the item and refuses an item whose values read each other; an item
        built without the loader (tests) derives it on first use.
        """
        if self._order is None:
            self._order = evaluation_order(self)
        return self._order


@dataclass(frozen=True)
class UnavailableItem:
    """An item file that could not be loaded, as much of it as could be read (for search and messages).

    ``key`` is the item code, or the file name when the code cannot be read or is taken by a valid item.
    ``reason`` is for the front-desk worker (Chinese, no parser detail); the technical errors are in
    ``Catalog.errors`` (``catalog validate`` and the log).
    """

    key: str
    file: str
    code: str | None = None
    name: str = ""
    department: str = ""

    @property
    def reason(self) -> str:
        return f"该事项的配置文件有误，暂不能办理，请联系管理员（文件 {self.file}）"

    @property
    def label(self) -> str:
        """Code and name as far as known (the name alone when the file has no usable code of its own)."""
        return (f"{self.code} {self.name}" if self.code == self.key else self.name).strip()


@dataclass(frozen=True)
class LoadError:
    """One authoring error: which file, which item (if known) and which field (if any)."""

    file: str
    item_code: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.item_code:
            where += f" [{self.item_code}]"
        if self.field:
            where += f" {self.field}"
        return f"{where}: {self.message}"


class Catalog(BaseModel):
    """All service items of one catalog version.

    ``version`` is the administrator's label from ``catalog.yaml`` (e.g. ``2026.11.1``);
    ``content_hash`` is a SHA-256 over every file so a local edit without a version bump is
    still visible. ``unavailable`` maps an item code (or the file name when the code cannot be
    read) to the worker-readable reason the item cannot be offered; ``broken`` holds what could be
    read of those files (code, name, department) so the desk can still find and explain them.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    version: str
    content_hash: str
    items: dict[str, ServiceItem] = {}
    unavailable: dict[str, str] = {}
    broken: dict[str, UnavailableItem] = {}
    errors: list[LoadError] = []
    departments: list[str] = []
    policy: Policy = PydField(default_factory=Policy)
    # 诉求 categories (issue 20) as (code, label), from catalog.yaml ``request_categories``; [] when absent.
    request_categories: list[tuple[str, str]] = []
    source_dir: Path | None = None

    @property
    def version_label(self) -> str:
        return f"{self.version} ({self.content_hash[:8]})"

    def get(self, code: str) -> ServiceItem | None:
        return self.items.get(code)

    def __iter__(self) -> Iterator[ServiceItem]:  # type: ignore[override]
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, code: object) -> bool:
        return code in self.items
