"""`make run` on a fresh Debian/Ubuntu (issue 12, finding 14): one script finds the system libraries Qt's xcb
and offscreen platform plugins need (by asking ldd), installs them with apt-get when it can, or stops with the
one command that does; `make run` and `.ci/run` both call it before anything starts Qt."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "qt-system-libs"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin exists on Linux only")


def _qt_dir() -> Path:
    import PySide6
    return Path(PySide6.__file__).parent / "Qt"


def _ldd_missing() -> set[str]:
    """What the dynamic loader cannot find for the platform plugins, asked independently of the script."""
    qt = _qt_dir()
    missing: set[str] = set()
    for binary in (qt / "plugins/platforms/libqxcb.so", qt / "plugins/platforms/libqoffscreen.so",
                   qt / "lib/libQt6XcbQpa.so.6"):
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
        missing |= set(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE))
    return missing


def _check() -> subprocess.CompletedProcess:
    env = dict(os.environ, PY=sys.executable)
    return subprocess.run([str(SCRIPT), "--check"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_check_mode_lists_exactly_what_ldd_says_is_missing():
    result = _check()
    missing = _ldd_missing()
    listed = set(re.findall(r"^missing: (\S+)", result.stdout, re.MULTILINE))
    assert listed == missing, result.stdout + result.stderr
    if missing:
        assert result.returncode == 1
        command = re.search(r"^\s*(sudo )?apt-get install -y (.+)$", result.stdout, re.MULTILINE)
        assert command, result.stdout
        assert "缺少" in result.stdout  # the worker-facing line is Chinese, the command is what to run
    else:
        assert result.returncode == 0 and "missing:" not in result.stdout


def test_known_libraries_map_to_their_debian_packages():
    """The names the issue reports on a server-style install, as the script would install them."""
    env = dict(os.environ, PY=sys.executable)
    out = subprocess.run([str(SCRIPT), "--package-for", "libxcb-icccm.so.4", "libxcb-keysyms.so.1",
                          "libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libEGL.so.1"],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out == ["libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"]


def test_make_run_and_ci_both_use_the_script_before_qt_starts():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    lines = [ln.strip() for ln in run_recipe.splitlines()[1:]]
    assert ".ci/qt-system-libs" in lines[0] and "main.py" in lines[-1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".ci/qt-system-libs" in ci and ci.index(".ci/qt-system-libs") < ci.index("make test")


def test_readme_first_section_says_what_make_run_does_on_a_fresh_machine():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    assert ".ci/qt-system-libs" in first and "apt-get" in first
