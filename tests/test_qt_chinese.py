"""Qt's own dialogs speak Chinese: the standard buttons of message boxes and button boxes, the print dialog and
Qt's own (non-native) file dialog are translated, on the newest and the oldest Qt OneDesk ships (`make test`,
`make test-oldest`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QWidget,
)

from app.core.paths import RESOURCES_DIR

pytestmark = pytest.mark.gui

# A word of English in a translated text: three Latin letters in a row. PDF is a name, not a word to translate.
ENGLISH = re.compile(r"[A-Za-z]{3,}")
NAMES = ("PDF",)


def test_standard_buttons_are_chinese(styled_app, qtbot):
    box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    qtbot.addWidget(box)
    assert box.button(QDialogButtonBox.Ok).text() == "确定"
    assert box.button(QDialogButtonBox.Cancel).text() == "取消"
    msg = QMessageBox(QMessageBox.Question, "停止办理", "放弃？", QMessageBox.Yes | QMessageBox.No)
    qtbot.addWidget(msg)
    texts = {msg.button(QMessageBox.Yes).text(), msg.button(QMessageBox.No).text()}
    assert all("是" in t or "否" in t for t in texts), texts


def _words(dialog: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every word Qt itself puts on the dialog: window title, buttons, labels, group titles,
    tabs, tool tips, menu actions and column headers, shown or behind a tab or 选项 >> (hidden until opened).
    Not the values: paths, printer names and file patterns are the machine's, not Qt's words."""
    found = [("window title", dialog.windowTitle())]
    for w in dialog.findChildren(QWidget):
        where = f"{type(w).__name__}#{w.objectName()}"
        if isinstance(w, QAbstractButton | QLabel):
            found.append((where, w.text()))
        if isinstance(w, QGroupBox):
            found.append((where, w.title()))
        if isinstance(w, QTabWidget):
            found += [(where, w.tabText(i)) for i in range(w.count())]
        if isinstance(w, QAbstractItemView) and w.model() is not None and w.objectName() in ("treeView", "listView"):
            model = w.model()
            found += [(where, str(model.headerData(i, Qt.Horizontal))) for i in range(model.columnCount())]
        found.append((where + " tool tip", w.toolTip()))
    found += [(f"action {a.objectName()}", a.text()) for a in dialog.findChildren(QAction)]
    return [(where, text) for where, text in found if text]


def _english(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    def strip(text: str) -> str:
        for name in NAMES:
            text = text.replace(name, "")
        return text
    return [(where, text) for where, text in words if ENGLISH.search(strip(text))]


def _plain(text: str) -> str:
    """A button's text without its mnemonic: 打印(&P) -> 打印, &Print -> Print."""
    return re.sub(r"\(&\w\)", "", text).replace("&", "").strip()


def _buttons(dialog: QWidget) -> set[str]:
    return {_plain(b.text()) for b in dialog.findChildren(QPushButton)}


@pytest.fixture
def print_dialog(styled_app, qtbot, tmp_path):
    """Qt's own print dialog on the PDF printer (offscreen there is no other; a CUPS printer's name and location
    are the machine's words, not Qt's). The printer outlives the dialog."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter
    printer = QPrinter(QPrinter.HighResolution)
    printer.setOutputFormat(QPrinter.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "回执.pdf"))
    dialog = QPrintDialog(printer)
    dialog.show()
    qtbot.waitExposed(dialog)
    yield dialog
    dialog.reject()
    dialog.deleteLater()
    qtbot.wait(1)
    del dialog
    del printer


def test_print_dialog_is_chinese(print_dialog):
    buttons = _buttons(print_dialog)
    assert {"打印", "取消"} <= buttons, buttons
    assert print_dialog.windowTitle() == "打印"
    words = _words(print_dialog)
    texts = {_plain(t) for _, t in words}
    for english in ("Print", "Cancel", "Properties", "Printer", "Options", "Copies", "Name:", "Output file:"):
        assert english not in texts, (english, words)
    assert not _english(words), _english(words)
    # 选项 >> opens the copies/options tabs: still Chinese.
    options = next(b for b in print_dialog.findChildren(QPushButton) if _plain(b.text()).startswith("选项"))
    options.click()
    assert not _english(_words(print_dialog)), _english(_words(print_dialog))


@pytest.mark.parametrize("mode", ["open", "save"])
def test_qt_file_dialog_is_chinese(styled_app, qtbot, tmp_path, mode):
    (tmp_path / "材料.pdf").write_bytes(b"%PDF-1.4\n")
    dialog = QFileDialog(None, "选择文件", str(tmp_path))
    dialog.setOption(QFileDialog.DontUseNativeDialog)
    if mode == "open":
        dialog.setFileMode(QFileDialog.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptOpen)
    else:
        dialog.setAcceptMode(QFileDialog.AcceptSave)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    buttons = _buttons(dialog)
    assert {"打开" if mode == "open" else "保存", "取消"} <= buttons, buttons
    labels = {w.objectName(): w.text() for w in dialog.findChildren(QLabel)}
    assert "文件名" in labels["fileNameLabel"], labels
    assert _plain(labels["lookInLabel"]).startswith("查找范围"), labels
    assert _plain(labels["fileTypeLabel"]).startswith("文件类型"), labels
    combo_items = [dialog.findChild(QWidget, "fileTypeCombo").itemText(0)]
    assert combo_items == ["所有文件 (*)"], combo_items
    words = _words(dialog)
    texts = {_plain(t) for _, t in words}
    for english in ("Open", "Save", "Cancel", "File name:", "Look in:", "Files of type:", "Name", "Size"):
        assert english not in texts, (english, words)
    assert not _english(words), _english(words)


def test_the_fixes_translation_is_built_from_its_source(tmp_path):
    """resources/translations/qt_fixes_zh_CN.qm (Qt words a Qt release left untranslated) is the lrelease of the
    .ts beside it: rebuilt here when PySide6 ships lrelease, and compared."""
    folder = RESOURCES_DIR / "translations"
    lrelease = shutil.which("pyside6-lrelease", path=str(Path(sys.executable).parent))
    if lrelease is None:
        pytest.skip("pyside6-lrelease is not installed")
    out = tmp_path / "fixes.qm"
    subprocess.run([lrelease, "-silent", str(folder / "qt_fixes_zh_CN.ts"), "-qm", str(out)], check=True)
    assert out.read_bytes() == (folder / "qt_fixes_zh_CN.qm").read_bytes(), \
        "rebuild it: .venv/bin/pyside6-lrelease resources/translations/qt_fixes_zh_CN.ts"
