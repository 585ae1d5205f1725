"""The Windows VERSIONINFO of the frozen OneDesk (issue 17), from app/version.py.

    python packaging/windows/versioninfo.py OUT.txt      # the file ONEDESK_VERSION_FILE names (packaging/onedesk.spec)
    python packaging/windows/versioninfo.py --print-version

The file is PyInstaller's text form of a version resource (what ``pyi-grab_version`` writes, read back with
``PyInstaller.utils.win32.versioninfo.load_version_info_from_text_file``): Explorer's "详细信息" tab, Task Manager's
process name (FileDescription) and the MSI's file-version comparison all read it. ``--print-version`` prints the
version for the MSI after checking that Windows Installer can hold it (major and minor at most 255, the third part
at most 65535).

Pure Python and no import of the app (app/version.py is read as a file), so it runs on any build machine and in the
Linux test suite (tests/test_windows_packaging.py).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION_FILE = ROOT / "app" / "version.py"

COMPANY = "OneDesk"
PRODUCT = "OneDesk 全科前台"
DESCRIPTION = "OneDesk 全科前台"
ORIGINAL_FILENAME = "onedesk.exe"
INTERNAL_NAME = "onedesk"
# Simplified Chinese (PRC) strings, in Unicode: the StringTable key is the two as hex, "080404b0".
LANGUAGE_ID = 0x0804
CODEPAGE = 1200


def _version_module():
    spec = importlib.util.spec_from_file_location("_onedesk_version", VERSION_FILE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot read {VERSION_FILE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def version() -> tuple[str, tuple[int, ...]]:
    """``("0.17.0.0", (0, 17, 0, 0))``; ValueError when a part does not fit a VERSIONINFO word (0..65535)."""
    module = _version_module()
    parts = tuple(module.version_tuple(module.VERSION))
    if len(parts) != 4 or any(p > 0xFFFF for p in parts):
        raise ValueError(f"VERSIONINFO needs four parts of at most 65535: {module.VERSION!r}")
    return ".".join(str(p) for p in parts), parts


def msi_version() -> str:
    """The MSI ProductVersion: Windows Installer allows 255.255.65535 and compares only the first three parts."""
    text, parts = version()
    if parts[0] > 255 or parts[1] > 255:
        raise ValueError(f"an MSI ProductVersion needs major and minor of at most 255: {text}")
    return text


def copyright_year() -> int:
    """The year of SOURCE_DATE_EPOCH (the last commit, as build.ps1 sets it), so a rebuild gives the same file."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).year
    return datetime.date.today().year


def render() -> str:
    """The version-info text, in the format of ``pyi-grab_version``."""
    text, parts = version()
    strings = [
        ("CompanyName", COMPANY),
        ("FileDescription", DESCRIPTION),
        ("FileVersion", text),
        ("InternalName", INTERNAL_NAME),
        ("LegalCopyright", f"© {copyright_year()} {COMPANY}"),
        ("OriginalFilename", ORIGINAL_FILENAME),
        ("ProductName", PRODUCT),
        ("ProductVersion", text),
    ]
    table = f"{LANGUAGE_ID:04x}{CODEPAGE:04x}"
    rows = ",\n        ".join(f"StringStruct({name!r}, {value!r})" for name, value in strings)
    return f"""# UTF-8
#
# Written by packaging/windows/versioninfo.py from app/version.py; do not edit.
# Fixed file info: https://learn.microsoft.com/windows/win32/api/verrsrc/ns-verrsrc-vs_fixedfileinfo
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={parts!r},
    prodvers={parts!r},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
    ),
  kids=[
    StringFileInfo(
      [
      StringTable(
        {table!r},
        [{rows}])
      ]),
    VarFileInfo([VarStruct('Translation', [{LANGUAGE_ID}, {CODEPAGE}])])
  ]
)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("out", nargs="?", type=Path, help="the version-info file to write")
    group.add_argument("--print-version", action="store_true", help="print the MSI ProductVersion and exit")
    args = parser.parse_args(argv)
    try:
        if args.print_version:
            print(msi_version())
            return 0
        msi_version()  # the exe and the MSI carry one number: refuse here what the MSI could not hold
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(), encoding="utf-8", newline="\n")
    except ValueError as e:
        print(f"versioninfo: {e}", file=sys.stderr)
        return 1
    print(f"version info: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
