"""Updates from the district (issue 17): the rules about a published package of the desk program, written once
for the server's ``server release publish`` and the desk that learns of it on sync and downloads it.

A package is a ``.deb`` (UOS/Kylin) or an ``.msi`` (Windows); its platform follows from the extension. A version
has four numeric parts (:func:`app.version.version_tuple`); "newer" compares them as numbers. A desk is offered
only its own platform's newest package, and only when that is newer than the program it runs. Nothing here runs a
package: installing stays an administrator's act.
"""

from __future__ import annotations

import re
import sys
from enum import StrEnum

from app.core.errors import UserError
from app.core.limits import is_sha256
from app.core.wire import ReleaseInfo
from app.version import version_tuple

MAX_PACKAGE_BYTES = 1024 * 1024 * 1024  # a frozen one-folder app is ~100-300 MB; anything over 1 GB is a mistake
MAX_FILE_NAME = 120
_FILE_NAME = re.compile(r"[\w.+~-]+")  # letters (CJK too), digits, . _ + ~ -: no path, no space, no quote
_FOUR_PARTS = re.compile(r"(?<!\d)(?<!\d\.)\d{1,6}\.\d{1,6}\.\d{1,6}\.\d{1,6}(?!\d|\.\d)")

BAD_EXTENSION = "安装包应为 .deb 文件（统信 UOS / 麒麟）或 .msi 文件（Windows）：{name}"
BAD_VERSION = "版本号应为四段数字，例如 0.17.0.0：{version}"
NO_VERSION = "无法从文件名 {name} 看出版本号，请用 --version 指定，例如 --version 0.18.0.0"
BAD_FILE_NAME = f"安装包文件名只能包含字母、数字、点、下划线、加号和连字符（最长 {MAX_FILE_NAME} 个字符）：{{name}}"
EMPTY_PACKAGE = "安装包文件是空的（0 字节）：{name}"
PACKAGE_TOO_LARGE = f"安装包过大（最多 {MAX_PACKAGE_BYTES // (1024 * 1024)} MB）：{{name}}"
BAD_DOWNLOAD = ("下载的安装包校验失败（与区服务器公布的 SHA-256 摘要或大小不一致，可能在传输中损坏或被篡改），"
                "已删除，请稍后重试或联系区管理员")
ONLY_ADMINS = "只有管理员可以下载新版本安装包"


class ReleaseError(UserError, ValueError):
    """A package or version that cannot be published or used; Chinese message, nothing stored."""


class Platform(StrEnum):
    LINUX_DEB = "linux-deb"
    WINDOWS_MSI = "windows-msi"


EXTENSIONS = {".deb": Platform.LINUX_DEB, ".msi": Platform.WINDOWS_MSI}


def platform_of_file(name: str) -> Platform:
    """The platform a package is for, from its extension (``.deb`` → linux-deb, ``.msi`` → windows-msi)."""
    for ext, platform in EXTENSIONS.items():
        if name.lower().endswith(ext):
            return platform
    raise ReleaseError(BAD_EXTENSION.format(name=name))


def desk_platform(sys_platform: str = sys.platform) -> Platform | None:
    """The package kind this desk installs: Windows → windows-msi, Linux (UOS/Kylin) → linux-deb, else None."""
    if sys_platform == "win32":
        return Platform.WINDOWS_MSI
    if sys_platform.startswith("linux"):
        return Platform.LINUX_DEB
    return None


def normal_version(text: str) -> str:
    """``"0.18"`` or ``"0.18.0.0"`` → ``"0.18.0.0"``: the four numeric parts, without leading zeros."""
    try:
        return ".".join(str(part) for part in version_tuple(text))
    except ValueError:
        raise ReleaseError(BAD_VERSION.format(version=text)) from None


def version_in_file_name(name: str) -> str:
    """The one four-part version a package's file name holds (``cn.onedesk.desk_0.18.0.0_amd64.deb``)."""
    found = set(_FOUR_PARTS.findall(name))
    if len(found) != 1:
        raise ReleaseError(NO_VERSION.format(name=name))
    return normal_version(found.pop())


def sort_key(version: str) -> str:
    """A text that orders versions as numbers (each part zero-padded), for a plain ORDER BY."""
    return ".".join(f"{part:06d}" for part in version_tuple(version))


def is_newer(version: str, than: str) -> bool:
    try:
        return version_tuple(version) > version_tuple(than)
    except ValueError:
        return False


def check_file_name(name: str, platform: Platform) -> str:
    """A package's file name as the desk will save it: a bare name of safe characters, the platform's extension."""
    if (len(name) > MAX_FILE_NAME or not _FILE_NAME.fullmatch(name) or name.startswith(".")
            or platform_of_file(name) != platform):
        raise ReleaseError(BAD_FILE_NAME.format(name=name))
    return name


def check_size(size: int, name: str) -> int:
    if size <= 0:
        raise ReleaseError(EMPTY_PACKAGE.format(name=name))
    if size > MAX_PACKAGE_BYTES:
        raise ReleaseError(PACKAGE_TOO_LARGE.format(name=name))
    return size


def release_problem(info: ReleaseInfo) -> str | None:
    """Why a desk cannot use a release the server named (it is then skipped, never stored), or None."""
    try:
        platform = Platform(info.platform)
        if normal_version(info.version) != info.version:
            return BAD_VERSION.format(version=info.version)
        check_file_name(info.file_name, platform)
        check_size(info.size, info.file_name)
    except (ValueError, ReleaseError) as e:  # an unknown platform, a bad version, name or size
        return str(e)
    if not is_sha256(info.sha256):
        return f"sha256: {info.sha256[:80]!r}"
    return None


def newest_per_platform(releases: list[ReleaseInfo]) -> dict[str, ReleaseInfo]:
    """The highest version of each platform among ``releases``."""
    best: dict[str, ReleaseInfo] = {}
    for r in releases:
        if r.platform not in best or is_newer(r.version, best[r.platform].version):
            best[r.platform] = r
    return best


def update_for(releases: list[ReleaseInfo], platform: Platform | None, current: str) -> ReleaseInfo | None:
    """The package this desk should be offered: its platform's newest, if newer than ``current``."""
    if platform is None:
        return None
    newest = newest_per_platform(releases).get(platform)
    return newest if newest is not None and is_newer(newest.version, current) else None
