"""Putting a PDF on paper through Qt: QPdfDocument renders each page, QPainter draws it on a QPrinter."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

PRINT_DPI = 300


class PrinterFailure(Exception):
    """The printer is missing, offline or refused the job; Chinese message."""


def load_pdf(pdf: bytes, parent=None) -> tuple[QPdfDocument, QBuffer]:
    """A QPdfDocument over in-memory bytes (keep the buffer alive as long as the document)."""
    buf = QBuffer(parent)
    buf.setData(QByteArray(pdf))
    buf.open(QIODevice.ReadOnly)
    doc = QPdfDocument(parent)
    doc.load(buf)
    if doc.status() != QPdfDocument.Status.Ready:
        raise PrinterFailure("文书文件无法读取")
    return doc, buf


def printer_for(name: str | None) -> QPrinter:
    """The desk's configured printer, or the system default; raise if there is none."""
    info = QPrinterInfo.printerInfo(name) if name else QPrinterInfo.defaultPrinter()
    if info.isNull():
        raise PrinterFailure(f"找不到打印机“{name}”" if name else "本机没有可用的打印机")
    return QPrinter(info, QPrinter.HighResolution)


def print_pdf(pdf: bytes, printer: QPrinter) -> int:
    """Render every page at the PDF's own size onto ``printer``; returns the page count."""
    doc, _buf = load_pdf(pdf)
    pages = doc.pageCount()
    painter = QPainter()
    for i in range(pages):
        points = doc.pagePointSize(i)
        printer.setPageSize(QPageSize(points, QPageSize.Unit.Point, "", QPageSize.SizeMatchPolicy.ExactMatch))
        printer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)  # the PDF carries its own margins
        if i == 0:
            if not painter.begin(printer):
                raise PrinterFailure("打印机无法开始打印（可能已离线或缺纸）")
        elif not printer.newPage():
            painter.end()
            raise PrinterFailure("打印中断：打印机无法换页")
        size = QSize(int(points.width() * PRINT_DPI / 72), int(points.height() * PRINT_DPI / 72))
        image = doc.render(i, size)
        painter.drawImage(QRectF(painter.viewport()), image)
    painter.end()
    doc.close()
    return pages
