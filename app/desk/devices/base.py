"""What every device driver offers, whatever the device (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class DeviceKind(StrEnum):
    ID_READER = "id_reader"  # 二代身份证阅读器
    CAMERA = "camera"  # 高拍仪 (any UVC camera)
    SCANNER = "scanner"  # 扫描仪 (SANE, or a folder the scanner writes to)
    CODE_SCANNER = "code_scanner"  # 扫码枪 (keyboard wedge)


KIND_LABELS = {DeviceKind.ID_READER: "身份证阅读器", DeviceKind.CAMERA: "高拍仪（摄像头）",
               DeviceKind.SCANNER: "扫描仪", DeviceKind.CODE_SCANNER: "扫码枪"}


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str  # Chinese, for the worker: "读卡成功：张*（110************1234）" / "未检测到阅读器"
    detail: dict[str, Any] = field(default_factory=dict)  # for the command line's --json; never personal data


@runtime_checkable
class DeviceDriver(Protocol):
    kind: DeviceKind
    name: str  # stable, for devices.json and `devices test NAME`: "idcard-sim", "idcard-termb", "camera-0" ...
    label: str  # Chinese

    def available(self) -> tuple[bool, str]:
        """Whether the device (or its library/service) is there now, and why not in Chinese."""
        ...

    def test(self) -> TestResult:
        """Read a card / take a picture / wait for a code, once; never raises (the problem is in the result)."""
        ...
