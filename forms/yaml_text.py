"""How catalog files are parsed: safe YAML (the C parser where available, ~10x faster).

A date that does not exist (``2026-13-01``) stays text, so the loader's checks name it in Chinese instead of the
parser raising a bare ``ValueError`` out of the whole file.
"""

from __future__ import annotations

from typing import Any

import yaml

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogYamlLoader(_BASE):
    """Safe loading with lenient timestamps."""


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


CatalogYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
