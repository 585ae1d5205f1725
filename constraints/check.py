"""Re-verify the constraints files against the package index (issue 17): for each kind of desk, pip resolves
OneDesk's dependencies (pyproject.toml, with the extras `make setup` uses there) from wheels only, for that
platform's wheel tags and CPython 3.11 — a dry run, only metadata is fetched. Needs the network; not a pytest test.

    .venv/bin/python constraints/check.py [NAME...]      (`make check-constraints`; NAME: one of TARGETS)

Each target passes when pip finds a wheel for every package, the three Qt wheels (PySide6-Essentials,
PySide6-Addons, shiboken6) have one version, the expected Qt series is chosen, PySide6-Pdf is there exactly
when the Qt is 6.12+ (before that QtPdf is inside PySide6-Addons), and neither the PySide6 meta-package nor
PySide6-WebEngine is pulled in. It also reports a compiled package whose newest release has no wheel for the
target: on such a desk pip would try to build that release from source unless the constraints file pins it.

pip evaluates environment markers for the machine it runs on even with --platform, so a Windows dry run on
Linux would leave out Windows-only dependencies; pip is therefore run with its marker environment set to the
target's (pip's vendored `packaging`), and the report's "environment" is checked to prove it took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "constraints"


def _manylinux(arch: str, newest: int, oldest: int, legacy: tuple[str, ...]) -> list[str]:
    """pip takes every accepted tag explicitly: manylinux_2_NEWEST ... manylinux_2_OLDEST plus the legacy names."""
    return [f"manylinux_2_{minor}_{arch}" for minor in range(newest, oldest - 1, -1)] + [
        f"{name}_{arch}" for name in legacy]


X86_64_LEGACY = ("manylinux2014", "manylinux2010", "manylinux1")
LINUX_ENV = {"os_name": "posix", "platform_system": "Linux", "sys_platform": "linux"}


@dataclass
class Target:
    name: str
    what: str
    platforms: list[str]
    env: dict[str, str]
    constraints: str | None
    extras: list[str]
    qt: str  # the Qt version the resolution must choose: "6.9.3", or "6.12." for a series
    pdf: bool  # PySide6-Pdf expected (Qt 6.12+)
    extra_reqs: list[str] = field(default_factory=list)


TARGETS = [
    Target("linux-x86_64-glibc2.28", "x86_64 desks on glibc 2.28-2.33 (UOS V20, Kylin V10)",
           _manylinux("x86_64", 28, 5, X86_64_LEGACY), {**LINUX_ENV, "platform_machine": "x86_64"},
           "linux-x86_64-glibc2.28.txt", ["dev"], "6.9.3", False),
    Target("linux-aarch64-glibc2.31", "aarch64 desks on glibc 2.31-2.38 (Kylin V10 on Phytium / Kunpeng)",
           _manylinux("aarch64", 31, 17, ("manylinux2014",)), {**LINUX_ENV, "platform_machine": "aarch64"},
           "linux-aarch64-glibc2.31.txt", ["dev"], "6.8.0.2", False),
    Target("windows", "Windows desks (64-bit)", ["win_amd64"],
           {"os_name": "nt", "platform_system": "Windows", "sys_platform": "win32", "platform_machine": "AMD64",
            "platform_release": "10", "platform_version": "10.0.19045"},
           "windows.txt", ["dev", "qtpdf"], "6.12.", True),
    Target("oldest-on-x86_64", "`make test-oldest`: the aarch64 desks' Qt pins on an x86_64 glibc 2.28 machine",
           _manylinux("x86_64", 28, 5, X86_64_LEGACY), {**LINUX_ENV, "platform_machine": "x86_64"},
           "linux-aarch64-glibc2.31.txt", ["dev"], "6.8.0.2", False),
    Target("linux-x86_64-newest", "x86_64 on glibc 2.34+ (CI, developers): no constraints file, `qtpdf`",
           _manylinux("x86_64", 39, 5, X86_64_LEGACY), {**LINUX_ENV, "platform_machine": "x86_64"},
           None, ["dev", "qtpdf"], "6.12.", True),
    Target("linux-aarch64-newest", "aarch64 on glibc 2.39+: no constraints file, `qtpdf`",
           _manylinux("aarch64", 39, 17, ("manylinux2014",)), {**LINUX_ENV, "platform_machine": "aarch64"},
           None, ["dev", "qtpdf"], "6.12.", True),
]

# Runs pip with the marker environment of the target (argv[1], JSON); the rest of argv goes to pip.
_PIP_WITH_ENV = """
import json, sys
from pip._vendor.packaging import markers
env = {**markers.default_environment(), **json.loads(sys.argv[1])}
markers._cached_default_environment = lambda: env
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return reqs


def resolve(t: Target, reqs: list[str], constraints: str | None) -> tuple[dict | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
                "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
        for p in t.platforms:
            args += ["--platform", p]
        if constraints:
            args += ["-c", str(HERE / constraints)]
        proc = subprocess.run([sys.executable, "-c", _PIP_WITH_ENV, json.dumps(t.env), *args, *reqs],
                              capture_output=True, text=True)
        out = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                        if "is ignored: it is neither a file nor a directory" not in line)
        if proc.returncode != 0 or not report.exists():
            return None, out
        return json.loads(report.read_text(encoding="utf-8")), out


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def check(t: Target) -> list[str]:
    print(f"== {t.name}: {t.what}")
    print(f"   constraints: {t.constraints or '(none)'}; extras: {','.join(t.extras)}; tags: {t.platforms[0]}"
          + (f" ... {t.platforms[-1]}" if len(t.platforms) > 1 else ""))
    report, out = resolve(t, requirements(t.extras) + t.extra_reqs, t.constraints)
    if report is None:
        return [f"{t.name}: pip could not resolve:\n{out}"]
    problems = []
    env = report.get("environment", {})
    for key, value in t.env.items():
        if env.get(key) != value:
            problems.append(f"{t.name}: pip's marker environment has {key}={env.get(key)!r}, not {value!r}")
    got: dict[str, tuple[str, str]] = {}
    for item in report["install"]:
        name = _norm(item["metadata"]["name"])
        got[name] = (item["metadata"]["version"], item["download_info"]["url"].rsplit("/", 1)[-1])
    for name in sorted(got):
        version, wheel = got[name]
        if not wheel.endswith("-none-any.whl"):
            print(f"   {name:24} {version:12} {wheel}")
    print(f"   ... and {sum(w.endswith('-none-any.whl') for _, w in got.values())} pure-Python wheels")
    qt = {n: got.get(n, ("missing", ""))[0] for n in ("pyside6-essentials", "pyside6-addons", "shiboken6")}
    if len(set(qt.values())) != 1:
        problems.append(f"{t.name}: the Qt wheels differ in version: {qt}")
    essentials = qt["pyside6-essentials"]
    if not (essentials == t.qt or (t.qt.endswith(".") and essentials.startswith(t.qt))):
        problems.append(f"{t.name}: Qt {essentials} chosen, expected {t.qt}")
    for unwanted in ("pyside6", "pyside6-webengine"):
        if unwanted in got:
            problems.append(f"{t.name}: {unwanted} is pulled in")
    pdf = got.get("pyside6-pdf")
    if t.pdf and (pdf is None or pdf[0].split(".")[:3] != essentials.split(".")[:3]):
        problems.append(f"{t.name}: PySide6-Pdf {pdf[0] if pdf else 'missing'} for Qt {essentials}")
    if not t.pdf and pdf is not None:
        problems.append(f"{t.name}: PySide6-Pdf {pdf[0]} with Qt {essentials} (QtPdf is in Addons there)")
    problems += source_build_risks(t, report, got)
    return problems


def source_build_risks(t: Target, report: dict, got: dict[str, tuple[str, str]]) -> list[str]:
    """A compiled package resolved below a newer release that has an sdist and that every requirement on it allows
    (pyproject.toml, the other packages' metadata, the constraints file): that release has no wheel for the
    target, so pip on such a desk without --only-binary would pick it and build it from source (compilers, Rust).
    Such a package must be pinned in the constraints file. Read from the index's file list of each package."""
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.version import InvalidVersion, Version

    specs: dict[str, SpecifierSet] = {}

    def add(text: str, extras: set[str]) -> None:
        req = Requirement(text)
        if req.marker is not None and not any(
                req.marker.evaluate({**report["environment"], "extra": e}) for e in extras | {""}):
            return
        name = _norm(req.name)
        specs[name] = specs.get(name, SpecifierSet()) & req.specifier

    for text in requirements(t.extras):
        add(text, set())
    for item in report["install"]:
        for text in item["metadata"].get("requires_dist", []):
            add(text, set(item.get("requested_extras") or []))
    if t.constraints:
        for line in (HERE / t.constraints).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                add(line, set())
    problems = []
    for name, (version, wheel) in sorted(got.items()):
        if wheel.endswith("-none-any.whl"):
            continue
        allowed = specs.get(name, SpecifierSet())
        newer = []
        for filename, yanked in index_files(name):
            if not filename.endswith((".tar.gz", ".zip")) or yanked:
                continue
            try:
                v = Version(filename[:filename.rfind(".tar.gz") if filename.endswith(".tar.gz") else -4]
                            .rsplit("-", 1)[-1])
            except InvalidVersion:
                continue
            if v > Version(version) and not v.is_prerelease and v in allowed:
                newer.append(v)
        if newer:
            problems.append(f"{t.name}: {name} {version} has a wheel here, but {max(newer)} (allowed, no wheel here, "
                            f"an sdist) would be built from source: pin {name}=={version} in "
                            f"{t.constraints or 'a constraints file'}")
    return problems


_INDEX: dict[str, list[tuple[str, bool]]] = {}


def index_files(name: str) -> list[tuple[str, bool]]:
    """(filename, yanked) of every file of a package on the index (the PEP 691 JSON simple page)."""
    if name not in _INDEX:
        import urllib.request
        request = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                                         headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
        _INDEX[name] = [(f["filename"], bool(f.get("yanked"))) for f in files]
    return _INDEX[name]


def main(argv: list[str]) -> int:
    names = argv or [t.name for t in TARGETS]
    unknown = set(names) - {t.name for t in TARGETS}
    if unknown:
        print(f"unknown target(s): {', '.join(sorted(unknown))}; known: {', '.join(t.name for t in TARGETS)}")
        return 2
    problems = []
    for t in TARGETS:
        if t.name in names:
            found = check(t)
            print("   ok" if not found else "   FAILED")
            problems += found
    for p in problems:
        print(f"check.py: {p}", file=sys.stderr)
    print(f"{len(names) - len({p.split(':')[0] for p in problems})} passed, "
          f"{len({p.split(':')[0] for p in problems})} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
