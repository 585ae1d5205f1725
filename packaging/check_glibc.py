"""The highest glibc a package needs (issue 17): every ELF file in a folder, a .deb or the frozen program is read
for the ``GLIBC_x.y`` versions it asks of the C library (its version-needs section, what the dynamic loader checks),
and the run fails when any is above the limit.

    python packaging/check_glibc.py PATH [--max 2.28] [--json]

PATH is a folder or a .deb (unpacked with dpkg-deb into a temporary folder). Prints the highest version, the files
that need it, and every file above the limit; exits 1 when one is above it, 2 when PATH holds no ELF file. Pure
Python (no readelf), so it runs wherever the tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_DYNAMIC = 6
DT_NEEDED = 1


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _sections(data: bytes) -> tuple[str, bool, list[tuple[int, int, int, int, int]]] | None:
    """(byte order, 64-bit, [(type, offset, size, link, info)]) of an ELF image's sections; None if not ELF."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        sh_fmt = end + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        sh_fmt = end + "IIIIIIIIII"
    sections = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if off + struct.calcsize(sh_fmt) > len(data):
            return None
        _, sh_type, _, _, sh_offset, sh_size, sh_link, sh_info, _, _ = struct.unpack_from(sh_fmt, data, off)
        sections.append((sh_type, sh_offset, sh_size, sh_link, sh_info))
    return end, is64, sections


def _string(data: bytes, start: int) -> str:
    return data[start:data.index(b"\0", start)].decode("ascii", "replace")


def needed_libraries(data: bytes) -> set[str]:
    """The sonames an ELF image asks the loader for (DT_NEEDED)."""
    parsed = _sections(data)
    if parsed is None:
        return set()
    end, is64, sections = parsed
    fmt = end + ("qQ" if is64 else "iI")
    step = struct.calcsize(fmt)
    names: set[str] = set()
    for sh_type, sh_offset, sh_size, sh_link, _ in sections:
        if sh_type != SHT_DYNAMIC or sh_link >= len(sections):
            continue
        strtab = sections[sh_link][1]
        for off in range(sh_offset, sh_offset + sh_size, step):
            tag, value = struct.unpack_from(fmt, data, off)
            if tag == 0:
                break
            if tag == DT_NEEDED:
                names.add(_string(data, strtab + value))
    return names


def glibc_needs(data: bytes) -> set[str]:
    """The ``GLIBC_x.y`` version names an ELF image needs; empty for a file that is not ELF or needs none."""
    parsed = _sections(data)
    if parsed is None:
        return set()
    end, _, sections = parsed
    names: set[str] = set()
    for sh_type, sh_offset, _, sh_link, sh_info in sections:
        if sh_type != SHT_GNU_VERNEED or sh_link >= len(sections):
            continue
        strtab = sections[sh_link][1]
        entry = sh_offset
        for _ in range(sh_info):  # Elf_Verneed: vn_version, vn_cnt, vn_file, vn_aux, vn_next
            _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from(end + "HHIII", data, entry)
            aux = entry + vn_aux
            for _ in range(vn_cnt):  # Elf_Vernaux: vna_hash, vna_flags, vna_other, vna_name, vna_next
                _, _, _, vna_name, vna_next = struct.unpack_from(end + "IHHII", data, aux)
                name = _string(data, strtab + vna_name)
                if name.startswith("GLIBC_") and name[6:7].isdigit():
                    names.add(name)
                if not vna_next:
                    break
                aux += vna_next
            if not vn_next:
                break
            entry += vn_next
    return names


def scan(folder: Path) -> dict[str, str]:
    """{relative path: highest GLIBC version it needs} for every ELF file under ``folder`` (symlinks skipped)."""
    found: dict[str, str] = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            needs = glibc_needs(path.read_bytes())
            found[str(path.relative_to(folder))] = (
                max((n[6:] for n in needs), key=_version) if needs else "")
    return found


def needed_outside(folder: Path) -> list[str]:
    """The sonames the ELF files under ``folder`` need that ``folder`` does not hold: the system's to provide."""
    shipped: set[str] = set()
    needed: set[str] = set()
    for dirpath, _, files in os.walk(folder):
        for name in files:
            shipped.add(name)
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                with path.open("rb") as f:
                    if f.read(4) == b"\x7fELF":
                        needed |= needed_libraries(path.read_bytes())
    return sorted(needed - shipped)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--max", default="2.28", help="the highest glibc allowed (default 2.28)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--needed", action="store_true",
                        help="instead: print the libraries the files need that the folder does not hold")
    args = parser.parse_args(argv)
    if args.needed:
        print("\n".join(needed_outside(args.path)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.path
        if args.path.suffix == ".deb":
            folder = Path(tmp)
            subprocess.run(["dpkg-deb", "-x", str(args.path), tmp], check=True)
        found = scan(folder)
    if not found:
        print(f"no ELF file in {args.path}", file=sys.stderr)
        return 2
    limit = _version(args.max)
    versions = [v for v in found.values() if v]
    highest = max(versions, key=_version) if versions else "none"
    above = sorted(p for p, v in found.items() if v and _version(v) > limit)
    if args.json:
        print(json.dumps({"elf_files": len(found), "highest_glibc": highest, "limit": args.max,
                          "above_limit": {p: found[p] for p in above}}, ensure_ascii=False))
    else:
        needing = sorted(p for p, v in found.items() if v == highest)
        print(f"{len(found)} ELF files; highest glibc needed: {highest} (limit {args.max})")
        print("  needed by: " + ", ".join(needing[:8]) + (" …" if len(needing) > 8 else ""))
        for p in above:
            print(f"ABOVE LIMIT: {p} needs GLIBC_{found[p]}")
    return 1 if above else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
