"""The one version number of OneDesk: the package metadata, the frozen program's version info, the .deb and the
MSI all read it here. Four numeric parts (major.minor.patch.build), as the UOS/Kylin app stores and Windows
VERSIONINFO require."""

VERSION = "0.17.0.0"
# The lowercase application id of the Linux package (/opt/apps/<APP_ID>/), its .desktop entry and icon.
APP_ID = "cn.onedesk.desk"


def version_tuple(text: str) -> tuple[int, ...]:
    """``"0.17.0.0"`` → ``(0, 17, 0, 0)``; ValueError for anything but dot-separated non-negative integers."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise ValueError(f"not a numeric version: {text!r}")
    return tuple(int(p) for p in parts) + (0,) * (4 - len(parts))
