"""Where things live: bundled resources and the per-installation data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESOURCES_DIR = PROJECT_DIR / "resources"
FONTS_DIR = RESOURCES_DIR / "fonts"
CJK_FONT_FILE = FONTS_DIR / "DroidSansFallbackFull.ttf"
CJK_FONT_FAMILY = "Droid Sans Fallback"
CALENDAR_DIR = RESOURCES_DIR / "calendar"
STYLES_DIR = RESOURCES_DIR / "styles"
ICONS_DIR = RESOURCES_DIR / "icons"
FORMS_ITEMS_DIR = PROJECT_DIR / "forms" / "items"


def default_data_dir() -> Path:
    """``--data-dir`` wins, then ``ONEDESK_DATA_DIR``, then the platform's user data folder."""
    env = os.environ.get("ONEDESK_DATA_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("OneDesk", "OneDesk"))
