"""``python main.py devices list|test`` as real processes (issue 15 part 7): Chinese lines, JSON, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.desk.devices.base import DeviceKind
from app.desk.devices.registry import CONFIG_FILE, STATE_FILE, DeviceConfig

ROOT = Path(__file__).resolve().parents[1]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # the command sets up Qt on its own
    env.pop("DISPLAY", None)  # as on a headless desk server or an SSH session
    return subprocess.run([sys.executable, "main.py", "--data-dir", str(data_dir), "devices", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_list_simulate_json_lists_every_kind_with_its_simulated_driver(tmp_path):
    r = run(tmp_path, "list", "--simulate", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["simulate"] is True and data["config_problem"] == ""
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert set(kinds) == {k.value for k in DeviceKind}
    assert kinds["id_reader"]["label"] == "身份证阅读器"
    sims = [d for k in kinds.values() for d in k["drivers"] if d["simulated"]]
    assert sims, data  # at least the simulated code scanner (app/desk/devices/codes.py)
    for k in kinds.values():
        sim = [d["name"] for d in k["drivers"] if d["simulated"]]
        assert k["configured"] == (sim[0] if sim else "")  # --simulate: each kind uses its simulated driver
    code = kinds["code_scanner"]
    assert code["configured"] == "code-sim" and code["configured_present"] is True
    assert next(d for d in code["drivers"] if d["name"] == "code-sim")["available"] is True


def test_list_in_chinese_shows_the_choice_and_the_last_error(tmp_path):
    DeviceConfig().with_driver(DeviceKind.CODE_SCANNER, "code-sim").with_driver(DeviceKind.CAMERA, "camera-9").save(
        tmp_path)
    (tmp_path / STATE_FILE).write_text(json.dumps({"version": 1, "devices": {"code-sim": {
        "last_error": "没有收到扫码", "error_at": "2026-12-01T09:30:00+08:00"}}}), encoding="utf-8")
    r = run(tmp_path, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "身份证阅读器：未配置" in lines
    assert "高拍仪（摄像头）：camera-9（本机没有这个驱动）" in lines
    assert "扫码枪：模拟扫码枪（code-sim）" in lines
    assert any(line.strip().startswith("* code-sim") and "可用" in line for line in lines)
    assert "      上次错误：没有收到扫码（2026-12-01 09:30）" in lines
    assert "Traceback" not in r.stderr


def test_test_simulate_tests_every_simulated_device(tmp_path):
    listed = json.loads(run(tmp_path, "list", "--simulate", "--json").stdout)
    sims = {d["name"] for k in listed["kinds"] for d in k["drivers"] if d["simulated"]}
    r = run(tmp_path, "test", "--simulate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "扫码枪 模拟扫码枪（code-sim）：成功 — 扫码成功" in r.stdout
    assert f"共测试 {len(sims)} 台设备，全部成功" in r.stdout
    assert (tmp_path / STATE_FILE).exists()
    j = run(tmp_path, "test", "--simulate", "--json")
    assert j.returncode == 0
    data = json.loads(j.stdout)
    assert data["ok"] is True and {x["name"] for x in data["results"]} == sims


def test_test_without_a_name_tests_the_configured_devices(tmp_path):
    r = run(tmp_path, "test")  # nothing configured yet
    assert r.returncode == 1
    assert "没有可测试的设备" in r.stdout
    DeviceConfig().with_driver(DeviceKind.CODE_SCANNER, "code-sim").save(tmp_path)
    r = run(tmp_path, "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "共测试 1 台设备，全部成功" in r.stdout
    DeviceConfig.load(tmp_path).with_driver(DeviceKind.CAMERA, "camera-9").save(tmp_path)  # not on this PC
    r = run(tmp_path, "test")
    assert r.returncode == 1
    assert "camera-9：失败 — 没有名为“camera-9”的设备驱动" in r.stdout
    assert "共测试 2 台设备，1 台失败" in r.stdout


def test_the_keyboard_wedge_scanner_is_not_a_failure_but_to_be_tested_in_the_program(tmp_path):
    DeviceConfig().with_driver(DeviceKind.CODE_SCANNER, "wedge").save(tmp_path)
    r = run(tmp_path, "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "扫码枪 扫码枪（键盘输入模式）（wedge）：需在程序中测试 — " in r.stdout and "失败" not in r.stdout
    assert "共测试 1 台设备，1 台需在程序中测试" in r.stdout
    assert "上次错误" not in run(tmp_path, "list").stdout  # not recorded as the device's last error
    j = run(tmp_path, "test", "--json")
    assert j.returncode == 0
    data = json.loads(j.stdout)
    assert data["ok"] is True and data["results"][0]["needs_ui"] is True
    assert data["results"][0]["status"] == "needs_ui"
    DeviceConfig.load(tmp_path).with_driver(DeviceKind.CAMERA, "camera-9").save(tmp_path)  # a real failure too
    r = run(tmp_path, "test")
    assert r.returncode == 1
    assert "共测试 2 台设备，1 台失败，1 台需在程序中测试" in r.stdout


def test_a_failing_test_exits_1_and_is_listed_as_the_last_error(tmp_path):
    DeviceConfig().with_driver(DeviceKind.ID_READER, "idcard-gone").save(tmp_path)
    r = run(tmp_path, "test", "idcard-gone")
    assert r.returncode == 1
    assert "idcard-gone：失败 — 没有名为“idcard-gone”的设备驱动" in r.stdout
    assert "共测试 1 台设备，1 台失败" in r.stdout
    j = run(tmp_path, "test", "idcard-gone", "--json")
    assert j.returncode == 1 and json.loads(j.stdout)["ok"] is False


def test_bad_devices_json_is_a_chinese_notice_not_a_crash(tmp_path):
    (tmp_path / CONFIG_FILE).write_text("{oops", encoding="utf-8")
    r = run(tmp_path, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("提示：设备设置文件") and "未配置设备" in r.stdout
    assert "Traceback" not in r.stderr
