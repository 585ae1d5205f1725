"""One place for bundled resources: the CJK font, icons and the stylesheet."""

from __future__ import annotations

from PySide6.QtCore import QDir, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication

from app.core.paths import CJK_FONT_FILE, ICONS_DIR, RESOURCES_DIR, STYLES_DIR

_font_family: str | None = None
_translators: list[QTranslator] = []  # installed translators must outlive the call that installs them


def register_fonts() -> str:
    """Register the bundled CJK font (a desk PC or CI may have none) and return its family name."""
    global _font_family
    if _font_family is None:
        font_id = QFontDatabase.addApplicationFont(str(CJK_FONT_FILE))
        if font_id < 0:
            raise RuntimeError(f"cannot load bundled font {CJK_FONT_FILE}")
        _font_family = QFontDatabase.applicationFontFamilies(font_id)[0]
    return _font_family


def install_translations(app: QApplication) -> None:
    """Qt's own words (OK/Cancel, Yes/No, the print and file dialogs) in Simplified Chinese, from the
    translations PySide6 ships; the app's own text is Chinese already."""
    QLocale.setDefault(QLocale(QLocale.Chinese, QLocale.China))
    if _translators:
        return
    folder = QLibraryInfo.path(QLibraryInfo.TranslationsPath)
    # Ours first, so asked last: only the few words a Qt release left untranslated (resources/translations/).
    for name, where in (("qt_fixes_zh_CN", str(RESOURCES_DIR / "translations")), ("qtbase_zh_CN", folder),
                        ("qt_zh_CN", folder)):
        translator = QTranslator(app)
        if translator.load(name, where):
            app.installTranslator(translator)
            _translators.append(translator)


def install(app: QApplication) -> None:
    install_translations(app)
    family = register_fonts()
    font = QFont(family, 11)
    app.setFont(font)
    QDir.addSearchPath("icons", str(ICONS_DIR))
    qss = (STYLES_DIR / "onedesk.qss").read_text(encoding="utf-8")
    app.setStyleSheet(qss.replace("@FONT@", family))


def icon(name: str) -> QIcon:
    return QIcon(f"icons:{name}.svg")
