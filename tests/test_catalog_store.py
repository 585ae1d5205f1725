"""A catalog published by the district server becomes the desk's catalog at the next start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.paths import FORMS_ITEMS_DIR
from app.desk.cases import CaseError
from app.desk.catalog.refs import item_ref, shared_catalog
from app.desk.catalog.store import current_catalog_dir, write_catalog
from app.desk.intake import IntakeService


def _payload(version: str, rename: str | None = None, corrupt: bool = False) -> dict:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(FORMS_ITEMS_DIR).glob("*.yaml"))}
    files["catalog.yaml"] = re.sub(r"(?m)^version:.*$", f'version: "{version}"', files["catalog.yaml"])
    if rename:
        files["MZ-01.yaml"] = re.sub(r"(?m)^name:.*$", f"name: {rename}", files["MZ-01.yaml"], count=1)
    if corrupt:
        files = {name: (text if name == "catalog.yaml" else "code: [unclosed") for name, text in files.items()}
    return {"version": version, "content_hash": f"{abs(hash((version, rename, corrupt))):016x}", "files": files}


def test_bundled_catalog_without_a_pulled_one(tmp_path):
    assert current_catalog_dir(tmp_path) is None
    assert shared_catalog(tmp_path).items_dir == Path(FORMS_ITEMS_DIR)


def test_pulled_catalog_is_used_and_stamped_on_new_cases(tmp_path, ctx):
    write_catalog(ctx.data_dir, _payload("2099.1.1", rename="高龄老人尊老金申领（新版）"))
    svc = IntakeService(ctx).catalog
    assert svc.catalog.version == "2099.1.1"
    assert svc.get("MZ-01").name == "高龄老人尊老金申领（新版）"
    ref = item_ref("MZ-01", svc)
    assert ref.catalog_version.startswith("2099.1.1") and ref.name == "高龄老人尊老金申领（新版）"
    assert shared_catalog().catalog.version != "2099.1.1"  # other data folders keep the bundled catalog


def test_a_pulled_catalog_with_no_usable_item_falls_back_to_the_bundled_one(tmp_path):
    write_catalog(tmp_path, _payload("2099.9.9", corrupt=True))
    assert current_catalog_dir(tmp_path) is not None
    svc = shared_catalog(tmp_path)
    assert svc.items_dir == Path(FORMS_ITEMS_DIR) and len(svc.items()) == 65


def test_a_pulled_catalog_with_one_broken_item_offers_it_as_unavailable(desk_ctx):
    payload = _payload("2099.3.3")
    payload["files"]["MZ-01.yaml"] = payload["files"]["MZ-01.yaml"].replace("type: phone", "type: cellphone", 1)
    write_catalog(desk_ctx.data_dir, payload)
    intake = IntakeService(desk_ctx)
    assert intake.catalog.catalog.version == "2099.3.3" and len(intake.catalog.items()) == 64
    hit = next(h for h in intake.search("zunlaojin", None, []) if h.code == "MZ-01")
    assert not hit.available and hit.name == "高龄老人尊老金申领" and "MZ-01.yaml" in hit.reason
    from app.desk.auth import AuthService
    worker = AuthService(desk_ctx).login("desk", "deskpass")
    with pytest.raises(CaseError) as refused:
        intake.start(worker, "MZ-01", None, None)
    assert "配置文件有误" in str(refused.value) and "cellphone" not in str(refused.value)
