"""Which Qt this machine's venv gets (issue 17): the constraints file and the extras `make setup` installs with,
the check that the venv holds exactly the Qt modules OneDesk uses, and whether an old venv must be made anew.

    python constraints/choose.py args [--oldest]   pip arguments, one a line: "-c FILE" (maybe) and ".[dev...]"
    python constraints/choose.py verify            exit 1 unless QtPdf, QtPdfWidgets, QtMultimedia, QtPrintSupport
                                                   and QtSvg are installed (read from the wheels' file lists, no
                                                   import) and neither the PySide6 meta-package nor PySide6-WebEngine
                                                   is (before 6.12 QtWebEngine is inside Addons: allowed)
    python constraints/choose.py stale             exit 0 if this venv holds the PySide6 meta-package or
                                                   PySide6-WebEngine (a venv from before issue 17), else 1

Qt 6.12 moved QtPdf out of PySide6-Addons into PySide6-Pdf, whose wheels need glibc 2.34 (x86_64) or 2.39
(aarch64); Qt 6.10+ itself needs 2.34 on x86_64 and 6.8.1+ needs 2.39 on aarch64. A marker cannot name the glibc,
so the choice is made here: an older Linux gets the constraints file of its kind (Qt 6.9.3 or 6.8.0.2, QtPdf
inside Addons) and no `qtpdf` extra; a newer one the newest Qt and `qtpdf`. Standard library only.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
X86_64_OLD = "linux-x86_64-glibc2.28.txt"
AARCH64_OLD = "linux-aarch64-glibc2.31.txt"
WINDOWS = "windows.txt"
# The oldest Qt OneDesk ships (the aarch64 desks'); its pins install on x86_64 too (`make test-oldest`).
OLDEST = AARCH64_OLD
# The Qt modules OneDesk imports (QtSvg: the icons; QtPdf/QtPdfWidgets: printing and the preview; QtMultimedia:
# the document camera).
NEEDED = ("QtCore", "QtGui", "QtWidgets", "QtPrintSupport", "QtSvg", "QtPdf", "QtPdfWidgets", "QtMultimedia")


def glibc() -> tuple[int, int] | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        return None
    name, _, version = text.partition(" ")
    if name != "glibc":
        return None
    major, _, minor = version.partition(".")
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def choice(oldest: bool = False) -> tuple[str | None, list[str]]:
    """(constraints file name or None, extras)."""
    if oldest:
        return OLDEST, ["dev"]
    if sys.platform == "win32":
        return WINDOWS, ["dev", "qtpdf"]
    if sys.platform.startswith("linux"):
        machine = platform.machine().lower()
        libc = glibc()
        if libc is None:
            sys.exit("choose.py: not a glibc Linux; the Qt wheels OneDesk uses need glibc")
        if machine in ("x86_64", "amd64"):
            if libc < (2, 28):
                sys.exit(f"choose.py: glibc {libc[0]}.{libc[1]} is older than 2.28, the oldest Qt wheels need")
            if libc < (2, 34):
                return X86_64_OLD, ["dev"]
        elif machine in ("aarch64", "arm64"):
            if libc < (2, 31):
                sys.exit(f"choose.py: glibc {libc[0]}.{libc[1]} is older than 2.31, the oldest Qt wheels need")
            if libc < (2, 39):
                return AARCH64_OLD, ["dev"]
    return None, ["dev", "qtpdf"]


def pip_args(oldest: bool = False) -> list[str]:
    constraints, extras = choice(oldest)
    args = ["-c", str((HERE / constraints).relative_to(Path.cwd()))] if constraints else []
    return args + ["-e", f".[{','.join(extras)}]"]


def installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def stale() -> bool:
    return installed("PySide6") or installed("PySide6-WebEngine")


def module_files() -> dict[str, str]:
    """Each installed PySide6 module (QtPdf, ...) and the wheel that brought it, read from the wheels' file lists:
    nothing is imported, so this runs before the system libraries Qt needs are installed."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if not name.lower().startswith("pyside6"):
            continue
        for f in dist.files or ():
            parts = f.parts
            if len(parts) == 2 and parts[0] == "PySide6" and parts[1].startswith("Qt") and \
                    parts[1].endswith((".so", ".pyd")):
                found[parts[1].split(".")[0]] = name
    return found


def verify() -> list[str]:
    problems = []
    modules = module_files()
    for module in NEEDED:
        if module not in modules:
            problems.append(f"no PySide6.{module} in this venv")
    for name in ("PySide6", "PySide6-WebEngine"):
        if installed(name):
            problems.append(f"{name} is installed (OneDesk never uses QtWebEngine)")
    if modules.get("QtWebEngineCore") not in (None, "PySide6_Addons", "PySide6-Addons"):
        problems.append(f"QtWebEngine comes from {modules['QtWebEngineCore']} (OneDesk never uses it)")
    versions = {n: importlib.metadata.version(n) for n in ("PySide6-Essentials", "PySide6-Addons", "shiboken6")
                if installed(n)}
    if len(set(versions.values())) > 1:
        problems.append(f"Qt wheels of different versions: {versions}")
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "args":
        print("\n".join(pip_args(oldest="--oldest" in argv[1:])))
        return 0
    if command == "stale":
        return 0 if stale() else 1
    if command == "verify":
        problems = verify()
        for p in problems:
            print(f"choose.py verify: {p}", file=sys.stderr)
        if not problems:
            modules = module_files()
            web = ("; QtWebEngine inside PySide6-Addons (Qt before 6.12 has it there, unused)"
                   if "QtWebEngineCore" in modules else "; no QtWebEngine")
            print(f"Qt {importlib.metadata.version('PySide6-Essentials')}: "
                  + ", ".join(f"{m} ({modules[m]})" for m in NEEDED[4:]) + web)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
