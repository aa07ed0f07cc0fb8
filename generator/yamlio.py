"""Deterministic YAML: fixed key order as given, block scalars for multi-line strings, no anchors.

Shared by every wing that writes YAML (render, correlations.yaml, the service), so it lives below all of them.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from generator.naming import GENERATED_HEADER

# libyaml's emitter is ~10x faster than the pure-Python one and gives the same text for what Stereo writes (they
# differ after a block scalar that keeps a trailing newline: libyaml ends the document with `...`; none is generated)
_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR, _MAP, _SEQ, _INT = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq", "int"))


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        """The nodes SafeRepresenter gives (no aliases, `default_flow_style` as passed), built without its per-value
        type dispatch for the types generated files hold (with `resolve` below: a fifth less CPU per dump, the same
        text; tests/test_yamlio.py). Other types go the usual way."""
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else None)
        if kind is dict:
            pairs = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
            return yaml.MappingNode(_MAP, pairs, flow_style=self._flow(pairs))
        if kind is list:
            items = [self.represent_data(v) for v in data]
            return yaml.SequenceNode(_SEQ, items, flow_style=self._flow(items))
        if kind is int:
            return yaml.ScalarNode(_INT, str(data))
        return super().represent_data(data)

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        """Resolver.resolve for scalars (the emitter asks twice per scalar), remembered per value."""
        if kind is yaml.ScalarNode and not self.yaml_path_resolvers:
            return _plain_tag(value) if implicit[0] else self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)

    def _flow(self, nodes: list[Any]) -> bool:
        """SafeRepresenter's choice: the dumper's default_flow_style, else flow when every item is a plain scalar."""
        if self.default_flow_style is not None:
            return bool(self.default_flow_style)
        return all(isinstance(n, yaml.ScalarNode) and not n.style for node in nodes
                   for n in (node if isinstance(node, tuple) else (node,)))


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


@functools.lru_cache(maxsize=8192)
def _plain_tag(value: str) -> str:
    """The tag a plain scalar `value` would be read back as (Resolver.resolve's implicit resolvers)."""
    resolvers = _Dumper.yaml_implicit_resolvers
    for tag, regexp in resolvers.get(value[:1], []) + resolvers.get(None, []):
        if regexp.match(value):
            return tag
    return _Dumper.DEFAULT_SCALAR_TAG


def dump(data: Any, header: bool = True) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
    return (GENERATED_HEADER if header else "") + body


def load(text: str) -> Any:
    """YAML Stereo wrote itself (generated files, packaged data), parsed by libyaml's safe loader: ~10x faster than
    `yaml.safe_load`, the same values. What a user wrote (settings, correlations.yaml) goes through
    generator.safeload, which bounds and checks it."""
    return yaml.load(text, Loader=_Loader)
