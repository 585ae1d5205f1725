"""The Windows icon of OneDesk (issue 17): resources/icons/onedesk.svg rendered into a multi-size .ico.

    python packaging/windows/icon.py resources/icons/onedesk.svg OUT.ico

build.ps1 passes the result to PyInstaller as ONEDESK_ICON (packaging/onedesk.spec), so onedesk.exe, its Start-menu
shortcut and the MSI's "应用和功能" entry show the OneDesk icon instead of PyInstaller's. Qt renders each size from
the SVG (crisper small sizes than scaling one bitmap down), Pillow writes the .ico: both are OneDesk dependencies,
so this runs in the build venv on any system.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

# The sizes Windows asks for: 16-32 in lists and the taskbar, 48 on the desktop, 256 for large icons.
SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)


def render(svg: Path, out: Path) -> list[int]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window: a build machine may have no display
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QGuiApplication, QIcon

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QIcon needs an application
    icon = QIcon(str(svg))
    if icon.isNull():
        raise ValueError(f"not an icon Qt can read: {svg}")
    images = []
    for size in SIZES:
        pixmap = icon.pixmap(size, size)
        if pixmap.isNull() or pixmap.width() != size:
            raise ValueError(f"cannot render the {size}px icon from {svg}")
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        pixmap.save(buffer, "PNG")
        images.append(Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA"))
    out.parent.mkdir(parents=True, exist_ok=True)
    largest = images[-1]
    largest.save(out, format="ICO", sizes=[(s, s) for s in SIZES], append_images=images[:-1])
    return list(SIZES)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: icon.py SOURCE.svg OUT.ico", file=sys.stderr)
        return 2
    svg, out = Path(args[0]), Path(args[1])
    try:
        sizes = render(svg, out)
    except (OSError, ValueError) as e:
        print(f"icon: {e}", file=sys.stderr)
        return 1
    print(f"icon: {out} ({', '.join(map(str, sizes))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
