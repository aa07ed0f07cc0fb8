"""Deterministic YAML: fixed key order as given, block scalars for multi-line strings, no anchors.

Shared by every wing that writes YAML (render, correlations.yaml, the service), so it lives below all of them.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.naming import GENERATED_HEADER

# libyaml's emitter is ~10x faster than the pure-Python one and gives the same text for what Stereo writes (they
# differ after a block scalar that keeps a trailing newline: libyaml ends the document with `...`; none is generated)
_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any, header: bool = True) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
    return (GENERATED_HEADER if header else "") + body


def load(text: str) -> Any:
    """YAML Stereo wrote itself (generated files, packaged data), parsed by libyaml's safe loader: ~10x faster than
    `yaml.safe_load`, the same values. What a user wrote (settings, correlations.yaml) goes through
    generator.safeload, which bounds and checks it."""
    return yaml.load(text, Loader=_Loader)
