"""The vendor SDKs every certified 二代身份证 reader ships, through ctypes.

Two APIs cover the readers found at Chinese service windows:

- ``termb.dll`` (Windows) / ``libtermb.so`` (Linux), the 神思/华视 style: ``int InitComm(int port)`` (1 = ok),
  ``int Authenticate(void)`` (1 = a card is there), ``int Read_Content(int active)`` or
  ``int Read_Content_Path(char *dir, int active)`` (1 = ok; writes ``wz.txt``, the 256-byte text block, and
  ``zp.bmp``, the photo already decoded, into the directory), ``int CloseComm(void)``.
- ``sdtapi.dll`` / ``libsdtapi.so``, the 公安部 reference API: ``int SDT_OpenPort(int port)`` (0x90 = ok; ports
  1–16 serial, 1001–1016 USB), ``int SDT_StartFindIDCard(int port, unsigned char *manaInfo, int ifOpen)`` (0x9F =
  found), ``int SDT_SelectIDCard(int port, unsigned char *manaMsg, int ifOpen)`` (0x90), ``int
  SDT_ReadBaseMsg(int port, unsigned char *chMsg, unsigned int *chLen, unsigned char *phMsg, unsigned int *phLen,
  int ifOpen)`` (0x90; 256 bytes of text, 1024 bytes of ``wlt`` photo), ``int SDT_ClosePort(int port)``.

On Windows both are ``__stdcall`` (WinDLL). The ``wlt`` photo is compressed with a format only the vendor's
decoder reads: ``libwlt.so`` (``int unpack(char *wlt, char *bgr, int bmpSave)``, 1 = ok, 102×126 BGR) or
``WltRS.dll`` (``int GetBmp(char *wltFile, int intf)``, 1 = ok, writes the ``.bmp`` beside it); without one the
photo is None. Files a driver writes hold card data: they are read and deleted at once, in a private folder.
Nothing here is loaded unless a reader is configured (or tested), and nothing logs card data.
"""

from __future__ import annotations

import ctypes
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.idcard import WLT_SIZE, WZ_SIZE, CardReaderError, IdCard, parse_wz

WINDOWS = sys.platform == "win32"
TERMB_NAMES = ("termb.dll",) if WINDOWS else ("libtermb.so", "./libtermb.so")
SDTAPI_NAMES = ("sdtapi.dll",) if WINDOWS else ("libsdtapi.so", "./libsdtapi.so")
WLT_NAMES = ("WltRS.dll", "DLL_File.dll") if WINDOWS else ("libwlt.so", "./libwlt.so")
PHOTO_SIZE = (102, 126)
DRIVER_HINT = "请安装阅读器厂家的驱动程序，或在“设置 → 设备”中填写驱动文件的位置"

# sdtapi return codes (公安部 SAM interface)
SDT_OK, SDT_FOUND = 0x90, 0x9F
SDT_ERRORS = {
    0x01: "端口打开失败", 0x02: "阅读器响应超时", 0x03: "数据传输错误", 0x05: "SAM 模块串口不可用",
    0x10: "数据校验错误", 0x11: "数据长度错误", 0x21: "命令错误", 0x23: "越权操作", 0x24: "无法识别的错误",
    0x31: "证件认证失败", 0x32: "SAM 模块认证失败", 0x33: "信息验证错误", 0x40: "无法识别的证件类型",
    0x41: "读证操作失败", 0x47: "取随机数失败", 0x60: "SAM 模块自检失败", 0x66: "SAM 模块未经授权",
    0x80: "未找到证件", 0x81: "选取证件失败", 0x91: "证件中无此项内容",
}


def load_library(path: str | None, names: Sequence[str]) -> Any:
    """The vendor's library from ``path`` (configured) or the first of ``names`` the system finds, or a
    CardReaderError: "未找到身份证阅读器驱动" when there is none, "无法加载" when the file is there but unusable."""
    loader: Any = getattr(ctypes, "WinDLL") if WINDOWS else ctypes.CDLL  # noqa: B009 (absent off Windows)
    if path:
        if not Path(path).is_file():
            raise CardReaderError(f"未找到身份证阅读器驱动（{Path(path).name}）：{DRIVER_HINT}")
        try:
            return loader(str(path))
        except OSError:
            raise CardReaderError(f"无法加载身份证阅读器驱动（{Path(path).name}）：文件已损坏，或与本机不匹配"
                                  "（32/64 位），请重新安装厂家驱动") from None
    for name in names:
        try:
            return loader(name)
        except OSError:
            continue
    shown = names[0] if names else "驱动"
    raise CardReaderError(f"未找到身份证阅读器驱动（{shown}）：{DRIVER_HINT}")


def _bind(lib: Any, name: str, argtypes: list, required: bool = True) -> Any:
    fn = getattr(lib, name, None)
    if fn is None:
        if required:
            raise CardReaderError(f"身份证阅读器驱动缺少函数 {name}：驱动版本不符，请安装厂家的标准驱动")
        return None
    fn.argtypes, fn.restype = argtypes, ctypes.c_int
    return fn


def to_jpeg(data: bytes | None) -> bytes | None:
    """A photo the driver gave (BMP, PNG, JPEG) as JPEG; None when there is none or Pillow cannot read it."""
    if not data:
        return None
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as img:
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "JPEG", quality=90)
            return buf.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _take(path: Path) -> bytes | None:
    """Read a file the driver wrote and delete it (it holds card data)."""
    try:
        return path.read_bytes()
    except OSError:
        return None
    finally:
        try:
            path.unlink()
        except OSError:
            pass


class WltDecoder:
    """The vendor's ``wlt`` photo decoder, if one is installed; :meth:`decode` gives JPEG bytes or None."""

    def __init__(self, library: str | None = None):
        self.library = library
        self._lib: Any = None
        self._tried = False

    def _load(self) -> Any:
        if not self._tried:
            self._tried = True
            try:
                self._lib = load_library(self.library, WLT_NAMES)
            except CardReaderError:
                self._lib = None
        return self._lib

    def decode(self, wlt: bytes) -> bytes | None:
        lib = self._load()
        if lib is None or len(wlt) < WLT_SIZE:
            return None
        if getattr(lib, "unpack", None) is not None:
            unpack = _bind(lib, "unpack", [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int])
            out = ctypes.create_string_buffer(PHOTO_SIZE[0] * PHOTO_SIZE[1] * 3)
            if unpack(bytes(wlt[:WLT_SIZE]), out, 0) != 1:
                return None
            from PIL import Image
            img = Image.frombytes("RGB", PHOTO_SIZE, out.raw, "raw", "BGR")
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90)
            return buf.getvalue()
        get_bmp = _bind(lib, "GetBmp", [ctypes.c_char_p, ctypes.c_int], required=False)
        if get_bmp is None:
            return None
        folder = Path(tempfile.mkdtemp(prefix="onedesk-card-"))
        try:
            (folder / "zp.wlt").write_bytes(bytes(wlt[:WLT_SIZE]))
            if get_bmp(str(folder / "zp.wlt").encode("mbcs" if WINDOWS else "utf-8"), 2) != 1:  # 2 = USB reader
                return None
            return to_jpeg(_take(folder / "zp.bmp"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _check_port(port: int) -> int:
    if not (1 <= port <= 16 or 1001 <= port <= 1016):
        raise CardReaderError("身份证阅读器端口应为 1–16（串口）或 1001–1016（USB）")
    return port


class TermbReader:
    """termb.dll / libtermb.so: the driver writes the text block and the decoded photo into a private folder."""

    def __init__(self, library: str | None = None, port: int = 1001):
        self.library = library
        self.port = _check_port(port)
        self._lib: Any = None
        self._folder: Path | None = None

    def open(self) -> None:
        lib = load_library(self.library, TERMB_NAMES)
        self._init = _bind(lib, "InitComm", [ctypes.c_int])
        self._close = _bind(lib, "CloseComm", [])
        self._auth = _bind(lib, "Authenticate", [])
        self._read_path = _bind(lib, "Read_Content_Path", [ctypes.c_char_p, ctypes.c_int], required=False)
        self._read = _bind(lib, "Read_Content", [ctypes.c_int], required=self._read_path is None)
        if self._init(self.port) != 1:
            raise CardReaderError(f"无法连接身份证阅读器（端口 {self.port}）：请检查阅读器的连线和电源")
        self._lib = lib
        self._folder = Path(tempfile.mkdtemp(prefix="onedesk-card-"))

    def close(self) -> None:
        if self._lib is not None:
            try:
                self._close()
            except OSError:
                pass
            self._lib = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def read(self) -> IdCard | None:
        if self._lib is None or self._folder is None:
            raise CardReaderError("身份证阅读器未打开")
        if self._auth() != 1:
            return None  # no card (or not yet settled on the reader)
        if self._read_path is not None:
            folders = [self._folder]
            ok = self._read_path((str(self._folder) + os.sep).encode("mbcs" if WINDOWS else "utf-8"), 1)
        else:  # older drivers write into the current folder or their own
            folders = [Path.cwd(), Path(getattr(self._lib, "_name", ".")).parent]
            ok = self._read(1)
        if ok != 1:
            raise CardReaderError("读卡失败：请取下证件后重新放置，放稳再读")
        wz = photo = None
        for folder in folders:
            wz = wz or _take(folder / "wz.txt")
            photo = photo or _take(folder / "zp.bmp")
            _take(folder / "xp.wlt")  # the raw photo some drivers leave behind
        if wz is None:
            raise CardReaderError("读卡失败：驱动没有给出证件信息，请重新放置证件")
        return parse_wz(wz[:WZ_SIZE], photo=to_jpeg(photo))


class SdtapiReader:
    """sdtapi.dll / libsdtapi.so: text and ``wlt`` photo returned in buffers."""

    def __init__(self, library: str | None = None, port: int = 1001, decoder: str | None = None):
        self.library = library
        self.port = _check_port(port)
        self.decoder = WltDecoder(decoder)
        self._lib: Any = None

    def open(self) -> None:
        lib = load_library(self.library, SDTAPI_NAMES)
        buf = ctypes.POINTER(ctypes.c_ubyte)
        uint = ctypes.POINTER(ctypes.c_uint)
        self._open = _bind(lib, "SDT_OpenPort", [ctypes.c_int])
        self._close = _bind(lib, "SDT_ClosePort", [ctypes.c_int])
        self._find = _bind(lib, "SDT_StartFindIDCard", [ctypes.c_int, buf, ctypes.c_int])
        self._select = _bind(lib, "SDT_SelectIDCard", [ctypes.c_int, buf, ctypes.c_int])
        self._base = _bind(lib, "SDT_ReadBaseMsg", [ctypes.c_int, buf, uint, buf, uint, ctypes.c_int])
        code = self._open(self.port)
        if code != SDT_OK:
            raise CardReaderError(f"无法连接身份证阅读器（端口 {self.port}）：{_sdt_error(code)}，请检查连线和电源")
        self._lib = lib

    def close(self) -> None:
        if self._lib is not None:
            try:
                self._close(self.port)
            except OSError:
                pass
            self._lib = None

    def read(self) -> IdCard | None:
        if self._lib is None:
            raise CardReaderError("身份证阅读器未打开")
        mana = (ctypes.c_ubyte * 16)()
        if self._find(self.port, mana, 0) != SDT_FOUND:
            return None  # 0x80: no card
        if self._select(self.port, mana, 0) != SDT_OK:
            return None  # the card was lifted between find and select: the next poll tries again
        text, photo = (ctypes.c_ubyte * 512)(), (ctypes.c_ubyte * 2048)()
        text_len, photo_len = ctypes.c_uint(0), ctypes.c_uint(0)
        code = self._base(self.port, text, ctypes.byref(text_len), photo, ctypes.byref(photo_len), 0)
        if code != SDT_OK:
            raise CardReaderError(f"读卡失败（{_sdt_error(code)}）：请取下证件后重新放置")
        raw = bytes(text)[:min(text_len.value, len(text))]
        wlt = bytes(photo)[:min(photo_len.value, len(photo))]
        return parse_wz(raw, photo=self.decoder.decode(wlt))


def _sdt_error(code: int) -> str:
    return SDT_ERRORS.get(code, f"错误代码 0x{code:02X}")

