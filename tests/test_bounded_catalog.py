"""Issue 14, finding 5: untrusted catalog files and expressions cannot hang or exhaust the loader or the evaluator.

An audit made `catalog validate` run past 90 s with a nine-level YAML alias bomb, hang on a FIFO item file, and get
OOM-killed reading a symlink to /dev/zero; `4000000**4000000` in a computed value or a rule passed validation and
then one check took 27–119 s. The same loader runs at desk start and in `server catalog publish`.

The timeout marks are hang guards (a hung test fails instead of blocking the run), not speed assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import catalog as catalog_cli
from app.core.paths import FORMS_ITEMS_DIR
from app.server import admin
from forms import expr as ex
from forms.loader import load_catalog
from forms.validate import sample_submission, validate_submission
from models.server import CatalogVersion
from tests.test_catalog_items import GOOD_ITEM

pytest_plugins = ("tests.server_fixtures",)  # PostgreSQL for the publish test

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_BYTES = 512 * 1024  # the documented per-file limit


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, "utf-8")
    return directory / name


def _errors(catalog, file: str) -> list:
    return [e for e in catalog.errors if e.file == file]


def _alias_bomb(levels: int = 9) -> str:
    """The classic billion laughs: each level a list of nine aliases of the level below."""
    lines = ['a0: &a0 ["哈哈哈哈哈哈哈哈哈"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _in_thread(call, wait_s: float = 20.0) -> tuple[threading.Thread, dict]:
    """Run ``call`` in a daemon thread so a hang is seen (and reported) instead of blocking the test run."""
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = call()
        except Exception as exc:  # handed to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(wait_s)
    return worker, box


def _load_in_thread(directory: Path, wait_s: float = 20.0):
    worker, box = _in_thread(lambda: load_catalog(directory), wait_s)
    return worker, box.get("result")


def _release(fifo: Path) -> None:
    """Let a reader blocked opening ``fifo`` go (it then reads an empty file)."""
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# ---------------------------------------------------------------------------
# The YAML loader

@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["item", "catalog.yaml"])
def test_finding5_alias_bomb_is_refused_with_a_chinese_error_naming_the_file(tmp_path, where):
    """Finding 5: a nine-level alias bomb is refused (aliases counted while composing), not expanded.

    On the old loader both files hang validation (the item's conditions, the catalog's departments expand 9**9).
    """
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    if where == "item":
        name = "ZZ-02.yaml"
        text = GOOD_ITEM.replace("ZZ-01", "ZZ-02").replace("conditions: [测试条件]", "conditions: *a9")
        _write(tmp_path, name, _alias_bomb() + text)
    else:
        name = "catalog.yaml"
        _write(tmp_path, name, _alias_bomb() + 'version: "1.0.0"\ndepartments: *a9\n')
    worker, catalog = _load_in_thread(tmp_path, 40)
    assert not worker.is_alive(), "the alias bomb hangs the loader"
    errors = _errors(catalog, name)
    assert errors and any("别名" in e.message for e in errors), catalog.errors
    assert name in str(errors[0])
    if where == "item":
        assert "ZZ-01" in catalog.items  # the other item still loads


def test_finding5_a_few_aliases_still_load(tmp_path):
    """Finding 5 (no over-refusal): a file that shares one definition by an alias or two still loads."""
    text = (GOOD_ITEM.replace("legal_basis: [测试依据]", "legal_basis: &basis [测试依据]")
            .replace("conditions: [测试条件]", "conditions: *basis"))
    _write(tmp_path, "ZZ-01.yaml", text)
    assert load_catalog(tmp_path).get("ZZ-01").conditions == ["测试依据"]
    assert load_catalog(tmp_path).errors == []


def _doubling_bomb(levels: int = 25) -> str:
    """Few aliases (two per level, 50 in all) that still expand to 2**25 nodes."""
    lines = ["b0: &b0 [x]"] + [f"b{i}: &b{i} [*b{i - 1}, *b{i - 1}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text, fragment", [
    (_doubling_bomb(), "展开后过大"),
    ("a: &a [1, *a]\n", "循环引用"),
    ("m: &m {k: *m}\n", "循环引用"),
    ("v: " + "[" * 80 + "]" * 80 + "\n", "嵌套过深"),
    ("- " * 80 + "x\n", "嵌套过深"),
    ("n: 1" + "0" * 5000 + "\n", "位数过多"),
])
def test_finding5_other_costly_yaml_is_refused(tmp_path, text, fragment):
    """Finding 5: few aliases that still expand hugely, self-references, deep nesting, endless digits."""
    from forms.safe_yaml import read_yaml  # the loader's reader (forms/loader.py)
    path = _write(tmp_path, "ZZ-02.yaml", text)
    data, _, problem = read_yaml(path, hashlib.sha256())
    assert data is None and problem and fragment in problem, problem


@pytest.mark.timeout(60)
def test_finding5_fifo_item_file_is_refused_without_hanging(tmp_path):
    """Finding 5: a FIFO named like an item file is refused at once (only regular files are read)."""
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    fifo = tmp_path / "ZZ-02.yaml"
    os.mkfifo(fifo)
    worker, catalog = _load_in_thread(tmp_path, 20)
    if worker.is_alive():  # the old loader blocks in open(): let it go, then fail
        _release(fifo)
        worker.join(10)
        pytest.fail("a FIFO item file hangs the loader")
    errors = _errors(catalog, "ZZ-02.yaml")
    assert errors and "普通文件" in errors[0].message, catalog.errors
    assert "ZZ-02.yaml" in str(errors[0])
    assert "ZZ-01" in catalog.items


_LOAD_AND_PRINT = (
    "import sys\n"
    "from forms.loader import load_catalog\n"
    "c = load_catalog(sys.argv[1])\n"
    "print('\\n'.join(str(e) for e in c.errors))\n"
    "print('ITEMS', ' '.join(sorted(c.items)))\n"
)


def _limit_memory() -> None:
    limit = 2 * 1024 ** 3  # the old loader read /dev/zero until the kernel killed it at 22 GB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.timeout(90)
def test_finding5_symlink_to_dev_zero_is_refused(tmp_path):
    """Finding 5: an item file that is a symlink to /dev/zero is refused (not a regular file), not read to OOM."""
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    (tmp_path / "ZZ-02.yaml").symlink_to("/dev/zero")
    # A subprocess with a memory cap: on the old code it dies (MemoryError) instead of taking the machine down.
    done = subprocess.run([sys.executable, "-c", _LOAD_AND_PRINT, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_memory)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any("ZZ-02.yaml" in line and "普通文件" in line for line in lines), done.stdout
    assert "ITEMS ZZ-01" in lines


@pytest.mark.server
@pytest.mark.timeout(90)
def test_finding5_server_catalog_publish_refuses_a_fifo_and_an_alias_bomb(server_db, tmp_path):
    """Finding 5: `server catalog publish` runs the same bounded loader: nothing published, the files named."""
    items = tmp_path / "items"
    shutil.copytree(FORMS_ITEMS_DIR, items)
    fifo = items / "ZZ-09.yaml"
    os.mkfifo(fifo)
    _write(items, "ZZ-08.yaml", _alias_bomb() + GOOD_ITEM.replace("ZZ-01", "ZZ-08")
           .replace("conditions: [测试条件]", "conditions: *a9"))
    worker, box = _in_thread(lambda: admin.publish_catalog(server_db, items), 40)
    if worker.is_alive():
        _release(fifo)
        worker.join(10)
        pytest.fail("a FIFO or an alias bomb hangs `server catalog publish`")
    error = box.get("error")
    assert isinstance(error, admin.AdminError), box
    assert "ZZ-09.yaml" in str(error) and "普通文件" in str(error)
    assert "ZZ-08.yaml" in str(error) and "别名" in str(error)
    with server_db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CatalogVersion)) == 0


def test_finding5_oversized_file_is_refused(tmp_path):
    """Finding 5: a file above the size limit is refused with its size, however valid its YAML."""
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM)
    padding = ("# " + "填充" * 40 + "\n") * (MAX_FILE_BYTES // 80 + 100)
    _write(tmp_path, "ZZ-02.yaml", GOOD_ITEM.replace("ZZ-01", "ZZ-02") + padding)
    assert (tmp_path / "ZZ-02.yaml").stat().st_size > MAX_FILE_BYTES
    catalog = load_catalog(tmp_path)
    errors = _errors(catalog, "ZZ-02.yaml")
    assert errors and "过大" in errors[0].message and "KB" in errors[0].message, catalog.errors
    assert "ZZ-02" not in catalog.items and "ZZ-01" in catalog.items


def test_finding5_bundled_catalog_files_are_far_below_the_limits():
    """Finding 5 (no over-refusal): the shipped catalog loads cleanly under the new limits."""
    assert max(p.stat().st_size for p in FORMS_ITEMS_DIR.glob("*.yaml")) < MAX_FILE_BYTES // 8
    assert load_catalog(FORMS_ITEMS_DIR).errors == []


# ---------------------------------------------------------------------------
# Expressions: refused at validate time

HUGE = "4000000**4000000"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("part, field, text", [
    ("computed", "big", f"computed:\n  - {{key: big, label: 大数, expr: '{HUGE}'}}\n"),
    ("rule", "eligibility[0]", f"eligibility:\n  - {{rule: 'amount > {HUGE}', message: 金额过大, level: warn}}\n"),
])
def test_finding5_huge_power_is_refused_by_catalog_validate(tmp_path, capsys, part, field, text):
    """Finding 5: `4000000**4000000` in a computed value or a rule is refused by `catalog validate`."""
    _write(tmp_path, "ZZ-01.yaml", GOOD_ITEM + text)
    errors = _errors(load_catalog(tmp_path), "ZZ-01.yaml")
    assert any(e.field == field and "过大" in e.message for e in errors), errors
    assert catalog_cli.cmd_validate(argparse.Namespace(dir=str(tmp_path))) == 1
    out = capsys.readouterr().out
    assert "ZZ-01.yaml" in out and "过大" in out


@pytest.mark.parametrize("source", [
    HUGE, "9**9**9", "2 ** 100000", "amount ** 1000", "(10 ** 30) * (10 ** 30) * (10 ** 30)",
    "'字' * 100000000", "[1] * 100000000", "1 << 100000", "'%0999999999d' % 1",
])
def test_finding5_static_check_refuses_unbounded_constants(source):
    """Finding 5: constant sub-expressions and power exponents beyond the bounds are refused statically."""
    problems = ex.check(source, {"amount": ex.NameSpec()})
    assert problems and all(not p.isascii() for p in problems), problems


@pytest.mark.parametrize("source", ["amount ** 2", "2 ** 10", "amount * 12 / 100", "'是' * 3", "1.05 ** 30"])
def test_finding5_ordinary_arithmetic_still_passes(source):
    """Finding 5 (no over-refusal): the arithmetic rules actually use passes the check and evaluates."""
    assert ex.check(source, {"amount": ex.NameSpec()}) == []
    assert ex.evaluate(source, {"amount": 1500}) is not None


# ---------------------------------------------------------------------------
# Expressions: bounded at run time

@pytest.mark.timeout(60)
@pytest.mark.parametrize("source, names", [
    ("4000000**4000000 > 1", {}),
    ("x ** y > 1", {"x": 4000000, "y": 4000000}),
    ("x ** y ** y > 1", {"x": 9, "y": 9}),
    ("x * x * x * x * x * x * x * x * x * x > 1", {"x": 10 ** 40}),
    ("len(s * n) > 1", {"s": "字", "n": 10 ** 9}),
    ("len(s * n * n) > 1", {"s": "字字字字字字字字字字", "n": 3000}),
    ("len(f % 1) > 1", {"f": "%0999999999d"}),
    ("x << y > 1", {"x": 1, "y": 10 ** 6}),
    ("int(s) > 1", {"s": "9" * 4000}),
])
def test_finding5_costly_operations_at_run_time_are_undecided(source, names):
    """Finding 5: a costly operation on runtime values gives an undecided (None) verdict, not a hang."""
    evaluator = ex.Evaluator(names)
    assert evaluator.truth(source) is None
    with pytest.raises(ex.EvalError):
        evaluator.evaluate(source)


def test_finding5_total_steps_are_bounded():
    """Finding 5: an expression's evaluation stops after a bounded number of steps."""
    long_sum = " + ".join(["x"] * 200)  # under the length limit, far below the step bound: it evaluates
    assert ex.evaluate(long_sum, {"x": 1}) == 200
    engine = ex.Evaluator({"x": 1})
    engine.max_steps = 100
    assert engine.truth(long_sum + " > 1") is None


@pytest.mark.timeout(60)
def test_finding5_huge_power_in_a_computed_value_at_run_time_is_none(tmp_path):
    """Finding 5: an item whose computed value raises a field to its own power gets None, quickly, not a hang."""
    text = GOOD_ITEM + "computed:\n  - {key: big, label: 大数, expr: 'amount ** amount'}\n"
    catalog = load_catalog(_write(tmp_path, "ZZ-01.yaml", text).parent)
    assert catalog.errors == []
    item = catalog.get("ZZ-01")
    submission = sample_submission(item)
    submission["fields"]["amount"] = 4000000
    result = validate_submission(item, submission)
    assert "big" in result.computed and result.computed["big"] is None
