"""The Windows installer's sources (packaging/windows, issue 17), checked where they can be on Linux.

No Windows tool runs here: the .wxs is checked as XML (its structure, not WiX's schema), the VERSIONINFO text by
Python's parser and, when PyInstaller can be imported, by PyInstaller's own reader; build.ps1 and the workflow by
their text and YAML. packaging/windows/README.md "What was run here" says what this does not cover.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from app.version import VERSION, version_tuple

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = ROOT / "packaging" / "windows"
WXS = WINDOWS / "onedesk.wxs"
BUILD_PS1 = WINDOWS / "build.ps1"
WORKFLOW = ROOT / ".github" / "workflows" / "windows-package.yml"
SVG = ROOT / "resources" / "icons" / "onedesk.svg"
W = "http://wixtoolset.org/schemas/v4/wxs"
UI = "http://wixtoolset.org/schemas/v4/wxs/ui"
NS = {"w": W, "ui": UI}
# OneDesk's identity for Windows Installer. Changing it makes new versions install beside the old ones: never.
UPGRADE_CODE = "{75505376-5642-471E-8BD3-57502AC9A322}"
PRODUCT = "OneDesk 全科前台"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"_windows_{name}", WINDOWS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the WiX source ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wxs() -> ET.Element:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_pis=True))
    return ET.fromstring(WXS.read_bytes(), parser=parser)


def _elements(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


def _package(root: ET.Element) -> ET.Element:
    packages = root.findall("w:Package", NS)
    assert len(packages) == 1, "one Package (an MSI) per source"
    return packages[0]


def _standard_directory(package: ET.Element, name: str) -> ET.Element:
    found = [d for d in package.findall("w:StandardDirectory", NS) if d.get("Id") == name]
    assert len(found) == 1, f"StandardDirectory {name}"
    return found[0]


def test_wxs_is_a_per_machine_wix4_package(wxs):
    assert wxs.tag == f"{{{W}}}Wix"
    package = _package(wxs)
    assert package.get("Scope") == "perMachine"
    assert package.get("Name") == PRODUCT
    assert package.get("Manufacturer") == "OneDesk"
    # Simplified Chinese, and the code page WiX's zh-CN dialogs are in.
    assert package.get("Language") == "2052"
    assert package.get("Codepage") == "936"


def test_wxs_upgrade_code_is_a_fixed_guid(wxs):
    code = _package(wxs).get("UpgradeCode")
    assert code is not None
    assert str(uuid.UUID(code)).upper() == code.strip("{}"), "a valid GUID"
    assert code == UPGRADE_CODE, "the UpgradeCode never changes (new versions must replace the installed one)"


def test_wxs_version_comes_from_the_preprocessor(wxs):
    assert _package(wxs).get("Version") == "$(var.Version)"
    # Building without -d Version (or -d SourceDir) is an error, not a package with an empty version.
    pis = [e.text or "" for e in wxs.iter() if e.tag is ET.ProcessingInstruction]
    for variable in ("Version", "SourceDir"):
        guard = pis.index(f"ifndef {variable}")
        assert pis[guard + 1].startswith("error "), pis
        assert pis[guard + 2] == "endif"
    # And no version is written into the source.
    literal = re.compile(r"^\d+\.\d+\.\d+(\.\d+)?$")
    assert not [v for e in _elements(wxs) for v in e.attrib.values() if literal.match(v)]


def test_wxs_major_upgrade_refuses_a_downgrade_in_chinese(wxs):
    upgrades = _package(wxs).findall("w:MajorUpgrade", NS)
    assert len(upgrades) == 1
    upgrade = upgrades[0]
    message = upgrade.get("DowngradeErrorMessage") or ""
    assert re.search(r"[\u4e00-\u9fff]", message), "the message is in Chinese"
    assert "[ProductName]" in message and "较旧的版本" in message
    # A build that changes only the fourth part (which Windows Installer ignores) still replaces the old one.
    assert upgrade.get("AllowSameVersionUpgrades") == "yes"


def test_wxs_installs_the_harvested_folder_into_program_files(wxs):
    package = _package(wxs)
    folders = _standard_directory(package, "ProgramFiles64Folder").findall("w:Directory", NS)
    assert [(d.get("Id"), d.get("Name")) for d in folders] == [("INSTALLFOLDER", "OneDesk")]
    harvests = wxs.findall(".//w:Files", NS)
    assert len(harvests) == 1
    assert harvests[0].get("Include") == "$(var.SourceDir)\\**"
    groups = [g for g in package.findall("w:ComponentGroup", NS) if harvests[0] in list(g)]
    assert len(groups) == 1 and groups[0].get("Directory") == "INSTALLFOLDER"
    features = package.findall("w:Feature", NS)
    assert len(features) == 1
    refs = {(r.tag.split("}")[1], r.get("Id")) for r in features[0]}
    assert ("ComponentGroupRef", groups[0].get("Id")) in refs
    assert ("ComponentRef", "StartMenuShortcut") in refs


def test_wxs_start_menu_shortcut(wxs):
    components = _standard_directory(_package(wxs), "ProgramMenuFolder").findall("w:Component", NS)
    assert [c.get("Id") for c in components] == ["StartMenuShortcut"]
    shortcuts = components[0].findall("w:Shortcut", NS)
    assert len(shortcuts) == 1
    assert shortcuts[0].get("Name") == PRODUCT
    assert shortcuts[0].get("Target") == "[INSTALLFOLDER]onedesk.exe"
    assert shortcuts[0].get("WorkingDirectory") == "INSTALLFOLDER"
    keys = [r for r in components[0].findall("w:RegistryValue", NS) if r.get("KeyPath") == "yes"]
    assert len(keys) == 1 and keys[0].get("Root") == "HKCU"


def test_wxs_changes_nothing_beyond_the_install(wxs):
    names = {e.tag.split("}")[1] for e in _elements(wxs)}
    assert not names & {"CustomAction", "Custom", "InstallExecuteSequence", "InstallUISequence", "ServiceInstall",
                        "ServiceControl", "Environment", "RemoveFile", "IniFile", "Binary", "SetProperty"}
    # Only WiX's own and its UI extension's elements: no util/firewall/netfx extension doing things at install.
    assert {e.tag.split("}")[0].lstrip("{") for e in _elements(wxs)} == {W, UI}


def test_wxs_chinese_dialogs_without_a_licence_page(wxs):
    package = _package(wxs)
    wixui = package.findall("ui:WixUI", NS)
    assert [(u.get("Id"), u.get("InstallDirectory")) for u in wixui] == [("WixUI_InstallDir", "INSTALLFOLDER")]
    publishes = {(p.get("Dialog"), p.get("Control"), p.get("Value"), p.get("Order"))
                 for p in package.findall("w:UI/w:Publish", NS)}
    assert ("WelcomeDlg", "Next", "InstallDirDlg", "2") in publishes
    assert ("InstallDirDlg", "Back", "WelcomeDlg", "2") in publishes


def test_wxs_strings_fit_the_package_code_page(wxs):
    for element in _elements(wxs):
        for name, value in element.attrib.items():
            try:
                value.encode("cp936")
            except UnicodeEncodeError:
                pytest.fail(f"{element.tag} {name}={value!r} cannot be stored in an MSI of code page 936")


# --- the VERSIONINFO file ------------------------------------------------------------------------------------

# The keyword arguments of PyInstaller's FixedFileInfo (PyInstaller/utils/win32/versioninfo.py).
FFI_KEYWORDS = {"filevers", "prodvers", "mask", "flags", "OS", "fileType", "subtype", "date"}
CALLS = {"VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo",
         "VarStruct"}


def _write_versioninfo(tmp_path: Path, epoch: str = "1700000000") -> Path:
    out = tmp_path / "versioninfo.txt"
    env = {"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": epoch}
    done = subprocess.run([sys.executable, str(WINDOWS / "versioninfo.py"), str(out)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def _value(node: ast.expr):
    """The version file as nested (call name, args, kwargs) tuples; anything but literals and the known calls fails."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_value(e) for e in node.elts)
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS:
        return node.func.id, [_value(a) for a in node.args], {k.arg: _value(k.value) for k in node.keywords}
    raise AssertionError(f"not allowed in a version file: {ast.dump(node)[:100]}")


def test_versioninfo_carries_the_version_as_tuple_and_string(tmp_path):
    text = _write_versioninfo(tmp_path).read_text(encoding="utf-8")
    parts = version_tuple(VERSION)
    assert len(parts) == 4
    assert f"filevers={parts!r}" in text and f"prodvers={parts!r}" in text  # filevers=(0, 17, 0, 0)
    assert f"StringStruct('FileVersion', '{VERSION}')" in text
    assert f"StringStruct('ProductVersion', '{VERSION}')" in text


def test_versioninfo_structure(tmp_path):
    text = _write_versioninfo(tmp_path).read_text(encoding="utf-8")
    name, args, kwargs = _value(ast.parse(text, mode="eval").body)
    assert (name, args, set(kwargs)) == ("VSVersionInfo", [], {"ffi", "kids"})
    ffi_name, ffi_args, ffi = kwargs["ffi"]
    assert ffi_name == "FixedFileInfo" and not ffi_args and set(ffi) == FFI_KEYWORDS
    assert ffi["filevers"] == ffi["prodvers"] == version_tuple(VERSION)
    assert (ffi["fileType"], ffi["OS"], ffi["flags"]) == (0x1, 0x40004, 0x0)  # an application, Windows NT, release
    (sfi_name, [tables], _), (vfi_name, [variables], _) = kwargs["kids"]
    assert (sfi_name, vfi_name) == ("StringFileInfo", "VarFileInfo")
    [(table_name, [key, rows], _)] = tables
    assert (table_name, key) == ("StringTable", "080404b0")  # zh-CN, Unicode
    strings = dict(tuple(args) for _, args, _ in rows)
    assert strings == {
        "CompanyName": "OneDesk",
        "FileDescription": PRODUCT,
        "FileVersion": VERSION,
        "InternalName": "onedesk",
        "LegalCopyright": "© 2023 OneDesk",  # the year of SOURCE_DATE_EPOCH=1700000000
        "OriginalFilename": "onedesk.exe",
        "ProductName": PRODUCT,
        "ProductVersion": VERSION,
    }
    assert variables == [("VarStruct", ["Translation", [0x0804, 1200]], {})]


def test_versioninfo_reads_back_with_pyinstaller(tmp_path, monkeypatch):
    import PyInstaller.compat as compat  # a dev dependency: the spec's own freezer

    # The reader needs no Windows API, but its module imports win32api from compat, which only Windows defines.
    if not hasattr(compat, "win32api"):
        monkeypatch.setattr(compat, "win32api", None, raising=False)
    from PyInstaller.utils.win32 import versioninfo as pyi_versioninfo
    info = pyi_versioninfo.load_version_info_from_text_file(str(_write_versioninfo(tmp_path)))
    a, b, c, d = version_tuple(VERSION)
    assert (info.ffi.fileVersionMS, info.ffi.fileVersionLS) == ((a << 16) | b, (c << 16) | d)
    assert (info.ffi.productVersionMS, info.ffi.productVersionLS) == ((a << 16) | b, (c << 16) | d)
    [table] = info.kids[0].kids
    assert table.name == "080404b0"
    strings = {s.name: s.val for s in table.kids}
    assert strings["FileVersion"] == strings["ProductVersion"] == VERSION
    assert strings["FileDescription"] == PRODUCT and strings["OriginalFilename"] == "onedesk.exe"
    assert info.kids[1].kids[0].kids == [0x0804, 1200]


def test_versioninfo_print_version_and_limits(monkeypatch, tmp_path, capsys):
    module = _module("versioninfo")
    assert module.main(["--print-version"]) == 0
    assert capsys.readouterr().out.strip() == VERSION

    real = module._version_module()

    def version_is(text):
        stub = type("Version", (), {"VERSION": text, "version_tuple": staticmethod(real.version_tuple)})
        monkeypatch.setattr(module, "_version_module", lambda: stub)

    version_is("256.0.0.0")  # fits VERSIONINFO, not an MSI ProductVersion
    assert module.version()[1] == (256, 0, 0, 0)
    with pytest.raises(ValueError, match="255"):
        module.msi_version()
    out = tmp_path / "v.txt"
    assert module.main([str(out)]) == 1 and not out.exists()
    version_is("0.17.70000.0")
    with pytest.raises(ValueError, match="65535"):
        module.version()


# --- the icon ------------------------------------------------------------------------------------------------


def test_icon_has_every_windows_size(tmp_path):
    from PIL import Image

    out = tmp_path / "onedesk.ico"
    done = subprocess.run([sys.executable, str(WINDOWS / "icon.py"), str(SVG), str(out)], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    with Image.open(out) as ico:
        assert ico.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])


# --- build.ps1 and the workflow ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ps1() -> str:
    return BUILD_PS1.read_text(encoding="utf-8")


def test_build_ps1_is_ascii_and_fails_fast(ps1):
    # Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page: non-ASCII would be garbled.
    assert ps1.isascii()
    assert "$ErrorActionPreference = 'Stop'" in ps1
    # Every native call is followed by an exit-code check (the helpers, and the one direct git call).
    lines = ps1.splitlines()
    calls = [i for i, line in enumerate(lines) if re.match(r"^\s*(\$\w+\s*=\s*)?&\s", line)]
    assert calls
    for i in calls:
        assert "$LASTEXITCODE" in lines[i] + lines[i + 1], lines[i]
    # PowerShell gotchas: "$name:" in a string is a scope-qualified variable; a space after a line-end backtick
    # ends the line continuation.
    assert not re.search(r"\$(?!env:|script:)\w+:(?![\w{])", ps1)
    assert not re.search(r"`[ \t]+$", ps1, re.MULTILINE)


def test_build_ps1_builds_tests_and_packages(ps1):
    assert r"'packaging\onedesk.spec'" in ps1
    assert r"'constraints\windows.txt'" in ps1 and "'.[dev,qtpdf]'" in ps1
    assert "'-m', 'PyInstaller', '--noconfirm', '--clean'" in ps1
    assert r"'packaging\windows\versioninfo.py'" in ps1 and "$env:ONEDESK_VERSION_FILE" in ps1
    assert "@('--help')" in ps1 and "'db', 'check'" in ps1
    assert "ONEDESK_STARTUP_PROBE = '1'; QT_QPA_PLATFORM = 'offscreen'" in ps1 and "startup_ms=" in ps1
    assert "'dotnet' -Arguments @('tool', 'install', '--global', 'wix'" in ps1
    assert "@('build', $Wxs," in ps1 and "'-culture', 'zh-CN'" in ps1 and '"Version=$version"' in ps1
    assert "Get-FileHash" in ps1 and "SHA256" in ps1


def test_build_ps1_signs_only_with_a_certificate(ps1):
    assert "$value = $env:ONEDESK_SIGN_PFX" in ps1
    assert "if ([string]::IsNullOrWhiteSpace($value)) { return $null }" in ps1
    assert "signing: skipped, ONEDESK_SIGN_PFX is not set" in ps1
    # Every Invoke-Sign call in the build sits in a block opened by `if ($script:SigningPfx)`.
    body = ps1[ps1.index("# --- the build"):]
    blocks: list[str] = []
    calls = 0
    for line in body.splitlines():
        starts = {m.start() for m in re.finditer(r"\bInvoke-Sign\b", line)}
        for at, char in enumerate(line):
            if at in starts:
                calls += 1
                assert any(opened.lstrip().startswith("if ($script:SigningPfx)") for opened in blocks), line
            if char == "{":
                blocks.append(line)
            elif char == "}":
                blocks.pop()
    assert calls == 2, "the executables and the MSI"
    assert "signtool" not in body.replace("Find-SignTool", ""), "signtool only through Invoke-Sign"


def test_workflow_runs_the_build_on_windows():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"] and triggers["push"]["tags"]
    assert "workflow_dispatch" in triggers
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "windows-latest"
    steps = job["steps"]
    python = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert python and python[0]["with"]["python-version"] == "3.11"
    builds = [s for s in steps if "packaging/windows/build.ps1" in s.get("run", "")]
    assert len(builds) == 1 and builds[0]["shell"] == "pwsh"
    assert set(builds[0]["env"]) == {"ONEDESK_SIGN_PFX", "ONEDESK_SIGN_PASSWORD"}
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and "dist/*.msi" in uploads[0]["with"]["path"]
    assert uploads[0]["with"]["if-no-files-found"] == "error"
