"""A vendor's local reader service: many readers come with a small program that answers on the PC itself, e.g.
``GET http://127.0.0.1:19196/readcard`` → JSON with the card's fields (and the photo in base64).

Services differ in their URL and their field names, so both are configured (``url``, ``fields``: our field →
a dotted path in the JSON, ``ok_key`` / ``ok_values``: how the service says a card was read, ``photo``: where
the base64 photo is). The defaults follow the common ``resultFlag`` / ``resultContent`` shape. Only a service
on this computer is accepted: card data never goes over the network from here.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from app.core.idcard import CardReaderError, IdCard, card_from_fields
from app.desk.devices.idcard_sdk import to_jpeg

DEFAULT_URL = "http://127.0.0.1:19196/readcard"
DEFAULT_FIELDS = {
    "name": "resultContent.partyName", "sex": "resultContent.gender", "ethnicity": "resultContent.nation",
    "birth": "resultContent.bornDay", "address": "resultContent.certAddress",
    "id_number": "resultContent.certNumber", "authority": "resultContent.certOrg",
    "valid_from": "resultContent.effDate", "valid_until": "resultContent.expDate",
}
DEFAULT_PHOTO = "resultContent.identityPic"
MAX_ANSWER = 2 * 1024 * 1024  # a base64 photo is ~50 KB; anything far larger is not a card
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _at(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class HttpCardReader:
    def __init__(self, url: str = DEFAULT_URL, *, fields: dict[str, str] | None = None,
                 ok_key: str = "resultFlag", ok_values: list | None = None, photo: str | None = DEFAULT_PHOTO,
                 timeout: float = 5.0):
        parts = urlsplit(url.strip())
        try:
            port = parts.port or 80
        except ValueError:
            port = 0
        if parts.scheme != "http" or (parts.hostname or "") not in _LOCAL_HOSTS or not port:
            raise CardReaderError("读卡服务的地址应为本机地址，如 http://127.0.0.1:19196/readcard")
        # a bare service address (what the 设备 page suggests) reads at the common path
        self.url = url.strip() if parts.path not in ("", "/") else parts._replace(path="/readcard").geturl()
        self.host, self.port = parts.hostname or "127.0.0.1", port
        self.fields = {**DEFAULT_FIELDS, **(fields or {})}
        self.ok_key = ok_key
        self.ok_values = list(ok_values) if ok_values is not None else [0, "0"]
        self.photo = photo
        self.timeout = timeout

    def _unreachable(self) -> CardReaderError:
        return CardReaderError(f"无法连接本机的读卡服务（{self.host}:{self.port}）：请确认阅读器厂家的读卡服务已启动")

    def open(self) -> None:
        try:
            socket.create_connection((self.host, self.port), timeout=self.timeout).close()
        except OSError:
            raise self._unreachable() from None

    def close(self) -> None:
        pass

    def read(self) -> IdCard | None:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as answer:
                body = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as e:
            raise CardReaderError(f"读卡服务返回错误（HTTP {e.code}）：请检查读卡服务的设置") from None
        except (urllib.error.URLError, OSError):
            raise self._unreachable() from None
        if len(body) > MAX_ANSWER:
            raise CardReaderError("读卡服务的应答过大，不是证件信息：请检查读卡服务的地址")
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except ValueError:
            raise CardReaderError("读卡服务的应答不是 JSON：请检查读卡服务的地址和字段设置") from None
        if _at(data, self.ok_key) not in self.ok_values:
            return None  # the service's "no card on the reader"
        v = {key: str(_at(data, path) or "") for key, path in self.fields.items()}
        return card_from_fields(name=v["name"], sex=v["sex"], ethnicity=v["ethnicity"], birth=v["birth"],
                                address=v["address"], id_number=v["id_number"], authority=v["authority"],
                                valid_from=v["valid_from"], valid_until=v["valid_until"], photo=self._photo(data))

    def _photo(self, data: Any) -> bytes | None:
        text = _at(data, self.photo) if self.photo else None
        if not isinstance(text, str) or not text:
            return None
        try:
            raw = base64.b64decode(text.split(",", 1)[-1], validate=False)  # a data: URL or plain base64
        except (binascii.Error, ValueError):
            return None
        return to_jpeg(raw)
