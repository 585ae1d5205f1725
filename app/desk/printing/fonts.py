"""The two fonts every document is set in, registered with reportlab once per process.

DroidSansFallback (bundled, 4 MB) carries the Chinese; it has no ASCII glyphs (digits, Latin letters,
'*', '-'), so those runs are set in Bitstream Vera, which ships inside reportlab itself. Both are
embedded as subsets. :func:`ensure_fonts` registers them and returns a :class:`FontSet` that knows
which characters each font covers and sets mixed text accordingly.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import textsplit as rl_textsplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import paragraph as rl_paragraph

from app.core.paths import CJK_FONT_FILE

CJK_FONT = "OneDeskCJK"
LATIN_FONT = "OneDeskLatin"
LATIN_FONT_FILE = Path(reportlab.__file__).resolve().parent / "fonts" / "Vera.ttf"

# Chinese punctuation that must not start a line (GB/T 15834); reportlab's list lacks the
# full-width comma, colon, semicolon, question and exclamation marks and closing quotes.
CANNOT_START_LINE = "，：；！？》〉」』”’…—％"
# Chinese print puts no space between Chinese and Latin text; kept, such a space can end up
# starting a wrapped line and push it out of alignment.
_SPACE_BY_CJK = re.compile(r"(?<=[\u2e80-\uffef]) +| +(?=[\u2e80-\uffef])")


@dataclass(frozen=True)
class FontSet:
    """The registered font names and the characters each covers; sets mixed Chinese/Latin text."""

    cjk: str
    latin: str
    cjk_chars: frozenset[int]
    latin_chars: frozenset[int]

    def font_for(self, ch: str) -> str:
        code = ord(ch)
        if code < 0x2E80 and code in self.latin_chars and (code not in self.cjk_chars or code < 0x80):
            return self.latin
        return self.cjk

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split text into (font, run) so every character is set in a font that has its glyph."""
        return [(font, "".join(chars)) for font, chars in groupby(text, key=self.font_for)]

    def rich(self, text: str) -> str:
        """Paragraph markup for plain text: escaped, Latin runs in the Latin font, newlines kept."""
        parts = []
        for font, run in self.runs(_SPACE_BY_CJK.sub("", text or "")):
            run = escape(run).replace("\n", "<br/>")
            parts.append(f'<font face="{self.latin}">{run}</font>' if font == self.latin else run)
        return "".join(parts)

    def text_width(self, text: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(text))

    def draw(self, canv: Canvas, x: float, y: float, text: str, size: float, render_mode: int = 0) -> None:
        """Draw one line of text at (x, y); ``render_mode`` 2 fills and strokes the glyphs (fake bold)."""
        t = canv.beginText(x, y)
        t.setTextRenderMode(render_mode)
        for font, run in self.runs(text):
            t.setFont(font, size)
            t.textOut(run)
        canv.drawText(t)


_lock = threading.Lock()  # documents may be rendered on a worker thread while the UI thread prints one


def ensure_fonts() -> FontSet:
    """Register both fonts on the first call (parsing the CJK font takes ~0.1 s); later calls return the same set."""
    with _lock:
        return _register()


@functools.cache
def _register() -> FontSet:
    latin = TTFont(LATIN_FONT, str(LATIN_FONT_FILE))
    cjk = TTFont(CJK_FONT, str(CJK_FONT_FILE))
    pdfmetrics.registerFont(latin)
    pdfmetrics.registerFont(cjk)
    for module in (rl_paragraph, rl_textsplit):  # each holds its own copy of the list
        module.ALL_CANNOT_START += "".join(c for c in CANNOT_START_LINE if c not in module.ALL_CANNOT_START)
    return FontSet(cjk=CJK_FONT, latin=LATIN_FONT, cjk_chars=frozenset(cjk.face.charToGlyph),
                   latin_chars=frozenset(latin.face.charToGlyph))
