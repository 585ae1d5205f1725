"""The desk's devices: which drivers this build knows, the one chosen per kind, testing one, the last error.

Drivers come from modules (``DRIVER_MODULES``, each ``drivers(config, *, simulate) -> list[DeviceDriver]``) and
from factories registered by ``main.py`` for what needs Qt (the camera: app/ never imports Qt). A module that is
missing, or that fails while listing its drivers, is skipped: the other devices keep working.

``DeviceConfig`` is this desk's choice, in ``<data_dir>/devices.json``: the driver name per kind (``""`` = none) and
the options a driver needs (the SDK file, the local reader service's URL, the scanner's folder). A file that cannot
be read gives the defaults and a Chinese message (``problem``), never a crash; it is written atomically. Both files
are read bounded (:data:`MAX_FILE_BYTES`, regular files only, as forms/safe_yaml.py reads catalog files), so a huge,
deeply nested or non-UTF-8 file, a folder or a pipe in their place is refused, not parsed.

The two committee settings the devices read (``keep_card_photo``, ``verify_base_url``) are in
app/desk/devices/settings.py and named here too (``registry.keep_card_photo(ctx)``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.core import limits
from app.core.changes import Changes
from app.core.vocabulary import CHINA_TZ
from app.desk.devices.base import KIND_LABELS, DeviceDriver, DeviceKind, TestResult
from app.desk.devices.settings import (  # noqa: F401 - the committee settings the devices read, named here too
    KEEP_CARD_PHOTO_KEY,
    VERIFY_BASE_URL_KEY,
    DeviceSettingsError,
    committee_verify_base_url,
    enrolled_server_url,
    keep_card_photo,
    set_keep_card_photo,
    set_verify_base_url,
    url_problem,
    verify_base_url,
)
from forms.safe_yaml import CatalogFileError, read_catalog_file

log = logging.getLogger(__name__)

DRIVER_MODULES = ["app.desk.devices.idcard", "app.desk.devices.scanner", "app.desk.devices.codes"]
CONFIG_FILE = "devices.json"
STATE_FILE = "devices-state.json"
CONFIG_VERSION = 1
MAX_FILE_BYTES = 64 * 1024  # devices.json and devices-state.json: a few hundred bytes each in practice

OPTION_LIMIT = 500

# The options a kind's drivers may read from ``config.option(kind, key)``; the 设备 page shows these fields.
OPTION_SDK_PATH = "sdk_path"  # the vendor's termb.dll / sdtapi.dll / .so
OPTION_SERVICE_URL = "service_url"  # the vendor's local reader service, e.g. http://127.0.0.1:19196
OPTION_WATCH_FOLDER = "watch_folder"  # the folder the scanner saves to


@dataclass(frozen=True)
class OptionField:
    key: str
    label: str  # Chinese
    kind: str  # "file" | "url" | "folder" | "text"
    hint: str = ""  # Chinese placeholder/tooltip


KIND_OPTIONS: dict[DeviceKind, tuple[OptionField, ...]] = {
    DeviceKind.ID_READER: (
        OptionField(OPTION_SDK_PATH, "读卡器 SDK 文件", "file", "厂家提供的 termb.dll、sdtapi.dll 或 .so 文件"),
        OptionField(OPTION_SERVICE_URL, "读卡服务地址", "url", "厂家读卡服务的本机地址，例如 http://127.0.0.1:19196"),
        # Read by app/desk/devices/idcard.py (OPTION_SDK_PORT, OPTION_SERVICE_FIELDS).
        OptionField("sdk_port", "读卡器端口", "text", "USB 为 1001–1016，串口为 1–16"),
        OptionField("service_fields", "读卡服务字段", "text", "JSON：{\"name\": \"data.xm\", …}"),
    ),
    DeviceKind.CAMERA: (),
    DeviceKind.SCANNER: (
        OptionField(OPTION_WATCH_FOLDER, "扫描文件夹", "folder", "扫描仪保存扫描件的文件夹，新文件会自动导入"),
    ),
    DeviceKind.CODE_SCANNER: (),
}

# One factory per Qt-based driver family: ``fn(config, *, simulate) -> list[DeviceDriver]``.
DriverFactory = Callable[..., list[DeviceDriver]]
_FACTORIES: list[DriverFactory] = []


def register_factory(fn: DriverFactory) -> None:
    """Add drivers that cannot live in app/ (they need Qt); registering the same function twice adds it once."""
    if fn not in _FACTORIES:
        _FACTORIES.append(fn)


def unregister_factory(fn: DriverFactory) -> None:
    if fn in _FACTORIES:
        _FACTORIES.remove(fn)


def needs_program(result: TestResult) -> bool:
    """A test only the running desk app can do (the keyboard-wedge scanner types into a window): not a failure,
    and not kept as the device's last error (``detail["needs_ui"]``)."""
    return not result.ok and isinstance(result.detail, dict) and result.detail.get("needs_ui") is True


class _Unreadable(DeviceSettingsError):
    """Why a devices file was not used, in Chinese (the callers turn it into defaults and a notice)."""


def _read_json(path: Path) -> Any:
    """The JSON in ``path``: FileNotFoundError when there is none, :class:`_Unreadable` (Chinese) for anything
    that is not a small regular UTF-8 JSON file."""
    if not os.path.lexists(path):
        raise FileNotFoundError(path)
    try:
        data = read_catalog_file(path, MAX_FILE_BYTES)
    except CatalogFileError as e:
        raise _Unreadable(str(e).removesuffix("，未读取")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("不是 UTF-8 编码的文本") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise _Unreadable("格式不对（不是有效的 JSON）") from None


def _atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ----- this desk's choice: devices.json ----------------------------------------------------------------------
@dataclass
class DeviceConfig:
    """The chosen driver per kind (``""`` = none) and the options per kind; ``problem``: why the file was not
    (wholly) used, in Chinese, ``""`` when it was."""

    chosen: dict[DeviceKind, str] = field(default_factory=dict)
    options: dict[DeviceKind, dict[str, str]] = field(default_factory=dict)
    problem: str = ""

    def driver_name(self, kind: DeviceKind) -> str:
        return self.chosen.get(kind, "")

    def option(self, kind: DeviceKind, key: str, default: str = "") -> str:
        return self.options.get(kind, {}).get(key, default) or default

    # -- edits (return a new config; the caller saves) --
    def with_driver(self, kind: DeviceKind, name: str) -> DeviceConfig:
        name = name.strip()
        problem = limits.text_problem(f"{KIND_LABELS[kind]}驱动", name, 100)
        if problem:
            raise DeviceSettingsError(problem)
        return DeviceConfig({**self.chosen, kind: name}, {k: dict(v) for k, v in self.options.items()})

    def with_option(self, kind: DeviceKind, key: str, value: str) -> DeviceConfig:
        spec = {f.key: f for f in KIND_OPTIONS[kind]}.get(key)
        if spec is None:
            raise DeviceSettingsError(f"{KIND_LABELS[kind]}没有“{key}”这项设置")
        value = value.strip()
        problem = limits.text_problem(spec.label, value, OPTION_LIMIT)
        if not problem and value and spec.kind == "url":
            problem = url_problem(spec.label, value)
        if problem:
            raise DeviceSettingsError(problem)
        options = {k: dict(v) for k, v in self.options.items()}
        options.setdefault(kind, {})[key] = value
        if not value:
            del options[kind][key]
        return DeviceConfig(dict(self.chosen), options)

    # -- file --
    def as_json(self) -> dict:
        return {"version": CONFIG_VERSION,
                "drivers": {k.value: self.chosen.get(k, "") for k in DeviceKind},
                "options": {k.value: dict(self.options[k]) for k in DeviceKind if self.options.get(k)}}

    def save(self, data_dir: Path) -> None:
        try:
            _atomic_write_json(Path(data_dir) / CONFIG_FILE, self.as_json())
        except OSError as e:
            raise DeviceSettingsError(f"设备设置无法保存到 {Path(data_dir) / CONFIG_FILE}：{e.strerror or e}") from None

    @classmethod
    def load(cls, data_dir: Path) -> DeviceConfig:
        path = Path(data_dir) / CONFIG_FILE
        try:
            raw = _read_json(path)
        except FileNotFoundError:
            return cls()
        except _Unreadable as e:
            return cls(problem=f"设备设置文件 {path} 无法使用：{e}。已按未配置设备处理；重新保存设备设置即可修复")
        return cls.from_json(raw, where=str(path))

    @classmethod
    def from_json(cls, raw: Any, *, where: str = CONFIG_FILE) -> DeviceConfig:
        """Known parts kept; anything unknown or of the wrong type dropped and named in ``problem``."""
        if not isinstance(raw, dict):
            return cls(problem=f"设备设置文件 {where} 格式不对（应为一个对象），已按未配置设备处理")
        dropped: list[str] = [str(k) for k in raw if k not in ("version", "drivers", "options")]
        chosen: dict[DeviceKind, str] = {}
        options: dict[DeviceKind, dict[str, str]] = {}
        drivers = raw.get("drivers", {})
        if not isinstance(drivers, dict):
            dropped.append("drivers")
            drivers = {}
        for key, name in drivers.items():
            kind = _kind(key)
            if kind is None or not isinstance(name, str) or limits.text_problem("", name, 100):
                dropped.append(f"drivers.{key}")
                continue
            if name.strip():
                chosen[kind] = name.strip()
        opts = raw.get("options", {})
        if not isinstance(opts, dict):
            dropped.append("options")
            opts = {}
        for key, values in opts.items():
            kind = _kind(key)
            if kind is None or not isinstance(values, dict):
                dropped.append(f"options.{key}")
                continue
            allowed = {f.key for f in KIND_OPTIONS[kind]}
            for okey, value in values.items():
                if okey not in allowed or not isinstance(value, str) or limits.text_problem("", value, OPTION_LIMIT):
                    dropped.append(f"options.{key}.{okey}")
                    continue
                if value.strip():
                    options.setdefault(kind, {})[okey] = value.strip()
        problem = ""
        if dropped:
            shown = "、".join(dropped[:5]) + ("等" if len(dropped) > 5 else "")
            problem = f"设备设置文件 {where} 中有无法识别的设置（{shown}），已忽略这些设置、其余照常使用"
        return cls(chosen, options, problem)


def _kind(key: Any) -> DeviceKind | None:
    try:
        return DeviceKind(key)
    except ValueError:
        return None


# ----- the last outcome per device: devices-state.json -------------------------------------------------------
@dataclass(frozen=True)
class DeviceState:
    last_error: str = ""
    error_at: str = ""  # ISO time (China time) of the last failure
    last_ok_at: str = ""  # ISO time of the last successful test

    @property
    def error_label(self) -> str:
        """"上次错误" as the page and the command line show it: the message and when, in Chinese."""
        if not self.last_error:
            return ""
        when = self.error_at[:16].replace("T", " ") if self.error_at else ""
        return f"{self.last_error}（{when}）" if when else self.last_error


def _read_states(path: Path) -> dict[str, DeviceState]:
    try:
        raw = _read_json(path)
    except (FileNotFoundError, _Unreadable):
        return {}  # only a note of past tests: unreadable reads as none
    entries = raw.get("devices") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {str(name): DeviceState(**{k: v for k, v in e.items()
                                      if k in DeviceState.__dataclass_fields__ and isinstance(v, str)})
            for name, e in entries.items() if isinstance(e, dict)}


# ----- the registry --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriverInfo:
    """One driver as the page and ``devices list`` show it."""

    kind: DeviceKind
    name: str
    label: str
    simulated: bool
    available: bool
    reason: str  # Chinese; "" when available
    last_error: str  # "上次错误" label, "" when none

    def as_json(self) -> dict:
        return {**asdict(self), "kind": self.kind.value}


class DeviceRegistry:
    """The drivers this desk can use. ``simulate``: every kind uses its simulated driver (demo, ``--simulate``)."""

    def __init__(self, ctx_or_data_dir: Any, *, simulate: bool = False,
                 modules: Iterable[str] | None = None):
        if isinstance(ctx_or_data_dir, (str, os.PathLike)):
            self.ctx = None
            self.data_dir = Path(ctx_or_data_dir)
        else:
            self.ctx = ctx_or_data_dir
            self.data_dir = Path(ctx_or_data_dir.data_dir)
        self.simulate = simulate
        self.modules = list(DRIVER_MODULES if modules is None else modules)
        self._lock = threading.RLock()
        self._config = DeviceConfig.load(self.data_dir)
        self._all: list[DeviceDriver] | None = None
        self._simulated: set[str] = set()
        self._skipped: dict[str, str] = {}  # module → why it was skipped (for the log and `devices list --json`)
        self._memory: dict[str, DeviceState] = {}  # this process's last outcomes, also when the file cannot be written

    # -- configuration --
    @property
    def config(self) -> DeviceConfig:
        return self._config

    @property
    def config_problem(self) -> str:
        return self._config.problem

    def reload(self) -> None:
        with self._lock:
            self._config = DeviceConfig.load(self.data_dir)
            self._all = None

    def save_config(self, config: DeviceConfig) -> Changes:
        """Keep ``config`` in devices.json; the drivers are rebuilt with its options."""
        with self._lock:
            config.save(self.data_dir)
            self._config = DeviceConfig(dict(config.chosen), {k: dict(v) for k, v in config.options.items()})
            self._all = None
        return Changes(settings=True)

    def choose(self, kind: DeviceKind, name: str, options: dict[str, str] | None = None) -> Changes:
        """Choose the driver of ``kind`` (``""`` = none) and set its options, in one save."""
        if name and name not in {d.name for d in self.drivers(kind)}:
            raise DeviceSettingsError(f"没有名为“{name}”的{KIND_LABELS[kind]}驱动")
        config = self._config.with_driver(kind, name)
        for key, value in (options or {}).items():
            config = config.with_option(kind, key, value)
        return self.save_config(config)

    def configure_simulated(self) -> Changes:
        """Choose every kind's simulated driver (the demo desk starts with them)."""
        config = self._config
        for kind in DeviceKind:
            sim = self._sim_driver(kind)
            if sim is not None:
                config = config.with_driver(kind, sim.name)
        return self.save_config(config)

    # -- drivers --
    def _load(self) -> list[DeviceDriver]:
        with self._lock:
            if self._all is not None:
                return self._all
            found: dict[str, DeviceDriver] = {}
            simulated: set[str] = set()
            sources: list[tuple[str, Callable[..., list[DeviceDriver]]]] = []
            for name in self.modules:
                try:
                    module = importlib.import_module(name)
                except ImportError as e:
                    self._skipped[name] = f"模块缺失：{e}"
                    log.info("device driver module %s skipped: %s", name, e)
                    continue
                except Exception as e:  # a broken driver module must not take the other devices down
                    self._skipped[name] = f"模块加载失败：{type(e).__name__}"
                    log.warning("device driver module %s failed to import: %s", name, type(e).__name__)
                    continue
                fn = getattr(module, "drivers", None)
                if callable(fn):
                    sources.append((name, fn))
            sources += [(getattr(f, "__qualname__", repr(f)), f) for f in _FACTORIES]
            for where, fn in sources:
                real = self._call(where, fn, simulate=False)
                sims = self._call(where, fn, simulate=True)
                real_names = {d.name for d in real}
                for d in real + sims:
                    if d.name in found:
                        continue
                    found[d.name] = d
                    if getattr(d, "simulated", False) or d.name not in real_names:
                        simulated.add(d.name)
            self._all, self._simulated = list(found.values()), simulated
            return self._all

    def _call(self, where: str, fn: Callable[..., list[DeviceDriver]], *, simulate: bool) -> list[DeviceDriver]:
        try:
            got = list(fn(self._config, simulate=simulate) or [])
        except Exception as e:
            self._skipped[where] = f"列出驱动失败：{type(e).__name__}"
            log.warning("device drivers of %s failed to list (simulate=%s): %s", where, simulate, type(e).__name__)
            return []
        return [d for d in got if isinstance(getattr(d, "kind", None), DeviceKind) and bool(getattr(d, "name", None))]

    @property
    def skipped_modules(self) -> dict[str, str]:
        self._load()
        return dict(self._skipped)

    def all_drivers(self) -> list[DeviceDriver]:
        return list(self._load())

    def drivers(self, kind: DeviceKind) -> list[DeviceDriver]:
        """Every driver of ``kind``, real ones first, then the simulated ones."""
        got = [d for d in self._load() if d.kind == kind]
        return sorted(got, key=lambda d: d.name in self._simulated)

    def is_simulated(self, name: str) -> bool:
        self._load()
        return name in self._simulated

    def driver(self, name: str) -> DeviceDriver | None:
        return next((d for d in self._load() if d.name == name), None)

    def _sim_driver(self, kind: DeviceKind) -> DeviceDriver | None:
        return next((d for d in self.drivers(kind) if d.name in self._simulated), None)

    def configured(self, kind: DeviceKind) -> DeviceDriver | None:
        """The driver this desk uses for ``kind``: the simulated one when simulating, else the chosen one
        (None when none is chosen or this build does not have it)."""
        if self.simulate:
            return self._sim_driver(kind)
        name = self._config.driver_name(kind)
        return self.driver(name) if name else None

    def configured_name(self, kind: DeviceKind) -> str:
        d = self.configured(kind)
        return d.name if d is not None else ("" if self.simulate else self._config.driver_name(kind))

    def availability(self, driver: DeviceDriver) -> tuple[bool, str]:
        try:
            ok, reason = driver.available()
            return bool(ok), "" if ok else str(reason or "设备不可用")
        except Exception as e:
            log.warning("device %s available() failed: %s", driver.name, type(e).__name__)
            return False, f"检查设备时出错（{type(e).__name__}）"

    def info(self, driver: DeviceDriver) -> DriverInfo:
        ok, reason = self.availability(driver)
        return DriverInfo(driver.kind, driver.name, str(driver.label), driver.name in self._simulated, ok, reason,
                          self.state(driver.name).error_label)

    def infos(self, kind: DeviceKind) -> list[DriverInfo]:
        return [self.info(d) for d in self.drivers(kind)]

    # -- testing and the last error --
    def test(self, name: str) -> TestResult:
        """Test the device ``name`` once (read a card, take a picture, wait for a code); never raises. A failure
        is kept as that device's last error, a success clears it; a test that needs the program
        (:func:`needs_program`) leaves the last outcome as it was."""
        driver = self.driver(name)
        if driver is None:
            return TestResult(False, f"没有名为“{name}”的设备驱动", {"name": name})
        ok, reason = self.availability(driver)
        if not ok:
            result = TestResult(False, reason, {"name": name, "available": False})
        else:
            try:
                result = driver.test()
                if not isinstance(result, TestResult):
                    result = TestResult(False, "设备测试没有返回结果", {"name": name})
            except Exception as e:  # a driver bug: the worker reads a message, the log has the type
                log.warning("device %s test() raised %s", name, type(e).__name__)
                result = TestResult(False, f"设备测试出错（{type(e).__name__}），请检查设备连接后重试", {"name": name})
        if not needs_program(result):
            self._record(name, result)
        return result

    def state(self, name: str) -> DeviceState:
        with self._lock:
            if name in self._memory:
                return self._memory[name]
            return _read_states(self.data_dir / STATE_FILE).get(name, DeviceState())

    def last_error(self, name: str) -> str:
        return self.state(name).error_label

    def _now(self) -> dt.datetime:
        now = getattr(self.ctx, "now", None)
        when = now() if callable(now) else dt.datetime.now(dt.UTC)
        return when.astimezone(CHINA_TZ)

    def _record(self, name: str, result: TestResult) -> None:
        at = self._now().isoformat(timespec="seconds")
        with self._lock:
            path = self.data_dir / STATE_FILE
            states = _read_states(path)
            old = states.get(name, DeviceState())
            states[name] = (DeviceState("", "", at) if result.ok
                            else DeviceState(result.message or "测试失败", at, old.last_ok_at))
            try:
                _atomic_write_json(path, {"version": 1, "devices": {n: asdict(s) for n, s in states.items()}})
            except OSError as e:  # the result itself still reaches the worker
                log.warning("device state not saved: %s", e.strerror or type(e).__name__)
            self._memory[name] = states[name]

    # -- committee settings (need the desk's context) --
    def _need_ctx(self):
        if self.ctx is None:
            raise DeviceSettingsError("需要打开本机数据库才能读取居委会设置")
        return self.ctx

    def keep_card_photo(self) -> bool:
        return keep_card_photo(self._need_ctx())

    def set_keep_card_photo(self, actor, on: bool) -> Changes:
        return set_keep_card_photo(self._need_ctx(), actor, on)

    def verify_base_url(self) -> str:
        return verify_base_url(self._need_ctx())

    def set_verify_base_url(self, actor, url: str) -> Changes:
        return set_verify_base_url(self._need_ctx(), actor, url)
