"""Bounded reading of catalog files: only regular files below a size limit, YAML with few aliases.

Catalog files come from an administrator's folder (`server catalog publish`) or from the district server (desk
start), so they are input to distrust: a FIFO named ``XX-01.yaml`` must not block the loader, a symlink to
``/dev/zero`` must not be read until memory runs out, and a "billion laughs" alias bomb must not be expanded.

* :func:`read_catalog_file` stats the path (symlinks followed) and the opened descriptor, refuses anything but a
  regular file, opens without blocking and reads at most :data:`MAX_FILE_BYTES` (+1, to see a file that grew).
* :func:`load_yaml` composes the document with the (C) parser — aliases are shared nodes there, so composing a
  bomb is cheap — then walks the node graph once before anything is constructed: more than :data:`MAX_ALIASES`
  alias uses, a self-referencing alias, more than :data:`MAX_NODES` nodes once aliases are expanded, or nesting
  deeper than :data:`MAX_DEPTH` is refused.

Every refusal is a :class:`CatalogFileError` with a Chinese message; the loader turns it into a ``LoadError``
naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from app.core.errors import UserError
from forms.yaml_text import CatalogYamlLoader

MAX_FILE_BYTES = 512 * 1024  # the largest shipped file is ~15 KB
MAX_ALIASES = 50  # alias uses (``*name``, ``<<: *name``) per file; the shipped catalog uses none
MAX_NODES = 100_000  # nodes of a document with every alias expanded
MAX_DEPTH = 64  # nesting of mappings and sequences

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class CatalogFileError(UserError, ValueError):
    """A catalog file refused before or while parsing; ``str(err)`` is a Chinese message."""


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} 字节"


def _check_stat(st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise CatalogFileError("不是普通文件（可能是管道、设备、目录或指向它们的链接），未读取")
    if st.st_size > limit:
        raise CatalogFileError(f"文件过大（{_kb(st.st_size)}，上限 {_kb(limit)}），未读取")


def read_catalog_file(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raise :class:`CatalogFileError` otherwise."""
    try:
        _check_stat(os.stat(path), limit)  # refuse a FIFO or a device before opening it
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise CatalogFileError(f"无法读取文件：{exc.strerror or exc}") from None
    try:
        _check_stat(os.fstat(fd), limit)  # the path may have been swapped between stat and open
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise CatalogFileError(f"无法读取文件：{exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise CatalogFileError(f"文件过大（超过上限 {_kb(limit)}），未读取")
    return b"".join(chunks)


def check_nodes(root: yaml.Node) -> None:
    """Refuse a composed document whose aliases or nesting would make it costly; see the module docstring.

    One depth-first walk, each node entered once: reaching a node already entered is an alias use (the composer
    hands out the anchored node itself), reaching one still on the current path is a self-reference.
    """
    aliases = 0
    entered = {id(root)}
    on_path = {id(root)}
    sizes: dict[int, int] = {}  # id(node) -> its node count with every alias expanded (collections only)
    frames: list[list[Any]] = [[root, _children(root), 0, 1]]  # node, children, next child, size so far
    while frames:
        frame = frames[-1]
        children, index = frame[1], frame[2]
        if index == len(children):
            frames.pop()
            key = id(frame[0])
            on_path.discard(key)
            size = sizes[key] = frame[3]
            if size > MAX_NODES:
                raise CatalogFileError(f"YAML 别名展开后过大（超过 {MAX_NODES} 个节点），未读取")
            if frames:
                frames[-1][3] += size
            continue
        frame[2] = index + 1
        child = children[index]
        key = id(child)
        if key in entered:
            if key in on_path:
                raise CatalogFileError("YAML 别名引用了包含它自身的内容（循环引用），未读取")
            aliases += 1
            if aliases > MAX_ALIASES:
                raise CatalogFileError(f"YAML 别名（* 引用）过多（超过 {MAX_ALIASES} 处），未读取")
            frame[3] += sizes.get(key, 1)
            continue
        entered.add(key)
        if type(child) is yaml.ScalarNode:
            frame[3] += 1
            continue
        if len(frames) >= MAX_DEPTH:
            raise CatalogFileError(f"YAML 嵌套过深（超过 {MAX_DEPTH} 层），未读取")
        on_path.add(key)
        frames.append([child, _children(child), 0, 1])


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> Any:
    """Parse one YAML document with the catalog's safe loader after :func:`check_nodes`; YAML errors propagate."""
    loader = CatalogYamlLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_nodes(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def read_yaml(path: Path, digest: Any) -> tuple[Any, str, str | None]:
    """(data, text, Chinese problem) of one catalog file; the bytes read are added to ``digest``."""
    try:
        raw = read_catalog_file(path)
    except CatalogFileError as exc:
        return None, "", str(exc)
    digest.update(path.name.encode() + b"\0" + raw + b"\0")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "", "文件不是 UTF-8 编码"
    try:
        return load_yaml(text), text, None
    except CatalogFileError as exc:
        return None, text, str(exc)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, text, f"YAML 语法错误{where}：{problem}"
    except RecursionError:
        return None, text, f"YAML 嵌套过深（超过 {MAX_DEPTH} 层），未读取"
    except (ValueError, OverflowError):  # e.g. an integer of more digits than Python converts
        return None, text, "YAML 中有无法读取的数值（位数过多）"
