"""Packaging (issue 17): the glibc check reads what the loader reads, the start-up probe and its bench work on
real processes. The package itself is built and tested as installed by ``make package`` and
``packaging/linux/test-installed`` (.ci/run), which take minutes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))

import check_glibc  # noqa: E402

pytestmark = pytest.mark.slow


def _readelf(path: Path) -> tuple[set[str], set[str]]:
    """(GLIBC versions needed, DT_NEEDED sonames) as binutils' readelf reads them."""
    out = subprocess.run(["readelf", "-V", "-d", "-W", str(path)], capture_output=True, text=True,
                         check=True).stdout
    versions = set(re.findall(r"Name: (GLIBC_\d[\d.]*)", out))
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    return versions, needed


def _compile(tmp_path: Path, source: str, name: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(source, encoding="utf-8")
    out = tmp_path / name
    subprocess.run(["gcc", "-O0", "-o", str(out), str(src), "-lm"], check=True)
    return out


def test_glibc_versions_and_needed_libraries_agree_with_readelf(tmp_path):
    import _ssl
    import ssl  # a Python extension module linking the system's OpenSSL
    program = _compile(tmp_path, "#include <math.h>\n#include <stdio.h>\n"
                       "int main(int c, char **v) { printf(\"%f\", pow(c, 2.5)); return 0; }\n", "probe")
    files = [program, Path(_ssl.__file__)]
    assert ssl.OPENSSL_VERSION
    for path in files:
        versions, needed = _readelf(path)
        data = path.read_bytes()
        assert versions, f"readelf sees no GLIBC version in {path}"
        assert check_glibc.glibc_needs(data) == versions, path
        assert check_glibc.needed_libraries(data) == needed, path


def test_the_check_fails_above_the_limit_and_names_the_file(tmp_path):
    folder = tmp_path / "pkg"
    (folder / "lib").mkdir(parents=True)
    program = _compile(tmp_path, "int main(void) { return 0; }\n", "tiny")
    shutil.copy(program, folder / "lib" / "tiny")
    (folder / "readme.txt").write_text("not ELF", encoding="utf-8")
    highest = max((v[6:] for v in _readelf(program)[0]), key=check_glibc._version)
    below = ".".join(str(p) for p in check_glibc._version(highest)[:-1] + (check_glibc._version(highest)[-1] - 1,))

    ok = subprocess.run([sys.executable, str(ROOT / "packaging" / "check_glibc.py"), str(folder),
                         "--max", highest, "--json"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    figures = json.loads(ok.stdout)
    assert figures == {"elf_files": 1, "highest_glibc": highest, "limit": highest, "above_limit": {}}

    bad = subprocess.run([sys.executable, str(ROOT / "packaging" / "check_glibc.py"), str(folder),
                          "--max", below], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"ABOVE LIMIT: lib/tiny needs GLIBC_{highest}" in bad.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    none = subprocess.run([sys.executable, str(ROOT / "packaging" / "check_glibc.py"), str(empty)],
                          capture_output=True, text=True)
    assert none.returncode == 2 and "no ELF file" in none.stderr


def test_needed_outside_lists_only_what_the_folder_lacks(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    program = _compile(tmp_path, "#include <math.h>\nint main(int c, char **v) { return (int) pow(c, 2); }\n",
                       "m")
    shutil.copy(program, folder / "m")
    outside = check_glibc.needed_outside(folder)
    assert "libc.so.6" in outside
    (folder / "libc.so.6").write_bytes(b"")  # the folder now "ships" it
    assert "libc.so.6" not in check_glibc.needed_outside(folder)


def _probe(args: list[str], probe: str, tmp_path: Path) -> str:
    env = dict(os.environ, ONEDESK_STARTUP_PROBE=probe, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                         env=env, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_probe_reports_the_first_window_and_chinese_qt(tmp_path):
    first = _probe(["--data-dir", str(tmp_path / "empty")], "1", tmp_path)
    assert re.search(r"^startup_ms=\d+ window=first_run qt_ok=确定$", first, re.M), first
    bare = _probe([], "bare", tmp_path)
    assert re.search(r"^startup_ms=\d+ window=bare$", bare, re.M), bare


def test_bench_startup_prints_both_and_the_ratio(tmp_path):
    out_file = tmp_path / "startup.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "bench", "startup", "--runs", "1",
                          "--json", str(out_file)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "显示登录窗口" in out.stdout and "空白 Qt 对话框" in out.stdout and "倍数" in out.stdout
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    assert figures["login_window_ms"] > 0 and figures["bare_qt_ms"] > 0
    assert figures["ratio"] == pytest.approx(figures["login_window_ms"] / figures["bare_qt_ms"], rel=0.02)
    assert figures["peak_memory_mb"] > figures["bare_qt_peak_memory_mb"] > 10
