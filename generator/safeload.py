"""One careful reader for every YAML and JSON file Stereo reads (stereo.yaml, correlations.yaml, correlate inputs).

Whatever the file holds, reading it ends in a value or in one `LoadError` whose str() is the line to print
(`file:line: what is wrong`), in bounded time and memory:

* only regular files are read (a FIFO, /dev/urandom or a directory is refused without reading), and at most
  `limit` bytes of them: CONFIG_LIMIT (2 MiB) for settings, DATA_LIMIT (32 MiB) for correlate's inputs;
* UTF-8 only (a leading BOM is tolerated); UTF-16 or binary content is named as such;
* YAML: aliases are refused while parsing, before anything is expanded ("billion laughs" allocates nothing),
  nesting is bounded (MAX_DEPTH) on the event stream, duplicate keys are an error, keys must be strings,
  numbers must be finite and fit in 64 bits (a 400-digit integer is an error, not an OverflowError later);
* JSON: the same rules (depth checked before parsing, so no RecursionError), NaN/Infinity refused.

Parsing uses PyYAML's C loader (libyaml) when it is available.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_LIMIT = 2 * 1024 * 1024  # stereo.yaml, correlations.yaml
DATA_LIMIT = 32 * 1024 * 1024  # stereo correlate inputs (CSV, query_range JSON)
MAX_DEPTH = 32  # nested mappings/lists; settings need 5
MAX_NODES = 200_000  # YAML scalars + collections in one document
INT_LIMIT = 2**63

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKETS_ONLY = {c: None for c in range(128) if chr(c) not in "[]{}"}
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_LAST_PART = re.compile(r"(\.[^.\[]*|\[\d+\])$")


class LoadError(ValueError):
    """A file that cannot be read as asked; str() is `source[:line]: message`."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")
        self.source, self.line, self.message = source, line, message


@dataclass
class Document:
    """A parsed file: its data and the line of each dotted key (`a.b`, `a[0]`) for messages."""

    data: Any
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        return line_of(key, self.lines)


def line_of(key: str, lines: dict[str, int]) -> int | None:
    """The line of `key`, or of its nearest parent that has one."""
    while key:
        if key in lines:
            return lines[key]
        parent = _LAST_PART.sub("", key)
        key = "" if parent == key else parent
    return None


# ------------------------------------------------------------------------------------------------- bytes
def read_bytes(path: str | Path, limit: int = CONFIG_LIMIT) -> bytes:
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not wait forever
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LoadError(source, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise LoadError(source, "cannot read: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(source, "cannot read: not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise LoadError(source, f"file is larger than the {_size(limit)} limit")
        data = os.read(fd, info.st_size + 1)  # one buffer of the file's size; more means it grew meanwhile
        while len(data) <= limit and (more := os.read(fd, limit + 1 - len(data))):
            data += more
    except OSError as exc:
        raise LoadError(source, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise LoadError(source, f"file is larger than the {_size(limit)} limit")
    return data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def decode(raw: bytes, source: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError(source, "not UTF-8 text (UTF-16, by its byte-order mark); save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        kind = "UTF-16 or binary" if nul < 4 or raw[1::2].count(0) > len(raw) // 4 else "binary"
        raise LoadError(source, f"not UTF-8 text ({kind} content, a NUL byte)", raw.count(b"\n", 0, nul) + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(source, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8", line) from None


def read_text(path: str | Path, limit: int = CONFIG_LIMIT) -> str:
    return decode(read_bytes(path, limit), str(path))


# -------------------------------------------------------------------------------------------------- YAML
def _check_events(text: str, source: str, max_depth: int, max_nodes: int) -> None:
    """Refuse aliases, deep nesting and huge node counts on the event stream, before any node is built."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise LoadError(source, f"YAML alias *{event.anchor} is not allowed; write the value out",
                            event.start_mark.line + 1)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise LoadError(source, f"nested deeper than {max_depth} levels", event.start_mark.line + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                raise LoadError(source, f"more than {max_nodes} YAML nodes", event.start_mark.line + 1)


class _Builder:
    """Node tree → Python values, with duplicate keys, non-string keys and out-of-range numbers refused."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}
        self.constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> LoadError:
        return LoadError(self.source, message, node.start_mark.line + 1)

    def value(self, node: yaml.Node, key: str) -> Any:
        if isinstance(node, yaml.CollectionNode) and node.tag not in (_MAP, _SEQ):
            raise self.fail(node, f"{key or 'value'}: unsupported YAML tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # `<<` merge keys (with aliases refused, only inline maps)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                name = self.scalar(key_node, key) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(name, str):
                    raise self.fail(key_node, f"a key must be a string, got {key_node.value!r} (quote it)")
                sub = self.sub(key, name)
                if name in out:
                    raise self.fail(key_node, f"duplicate key {name} (the first is on line {self.lines[sub]})")
                self.lines[sub] = key_node.start_mark.line + 1
                out[name] = self.value(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                sub = f"{key}[{i}]"
                self.lines[sub] = item.start_mark.line + 1
                items.append(self.value(item, sub))
            return items
        return self.scalar(node, key)

    @staticmethod
    def sub(key: str, name: str) -> str:
        return f"{key}.{name}" if key else name

    def scalar(self, node: yaml.Node, key: str) -> Any:
        where = key or "value"
        if node.tag in (_INT, _FLOAT) and len(node.value) > 40:
            raise self.fail(node, f"{where}: number out of range ({len(node.value)} characters)")
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise self.fail(node, f"{where}: cannot read {node.value[:40]!r}: {problem}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, f"{where}: expected a finite number, got {node.value}")
        if isinstance(value, int) and not isinstance(value, bool) and not -INT_LIMIT <= value < INT_LIMIT:
            raise self.fail(node, f"{where}: number out of range ({len(node.value)} characters)")
        return value


def parse_yaml(text: str, source: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Document:
    try:
        _check_events(text, source, max_depth, max_nodes)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            line = text.count("\n", 0, exc.position) + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LoadError(source, f"invalid YAML: {problem}", line) from None
    if node is None:
        return Document(None, source)
    builder = _Builder(source)
    return Document(builder.value(node, ""), source, builder.lines)


def load_yaml(path: str | Path, limit: int = CONFIG_LIMIT, max_depth: int = MAX_DEPTH,
              max_nodes: int = MAX_NODES) -> Document:
    return parse_yaml(read_text(path, limit), str(path), max_depth, max_nodes)


# -------------------------------------------------------------------------------------------------- JSON
def json_depth_over(text: str, max_depth: int) -> bool:
    """True when `text` nests deeper than max_depth, checked without recursion: strings dropped first; then
    max_depth + 1 opening brackets with no closing one between them answer at once (the usual attack, found
    without another copy); else, brackets only, the innermost pairs are removed max_depth times."""
    stripped = _STRING.sub("", text)
    if re.search(f"[\\[{{](?:[^\\[\\]{{}}]*+[\\[{{]){{{max_depth}}}", stripped):
        return True
    brackets = stripped.translate(_BRACKETS_ONLY) if stripped.isascii() else _NOT_BRACKET.sub("", stripped)
    del stripped
    for _ in range(max_depth):
        if not brackets:
            return False
        shorter = brackets.replace("[]", "").replace("{}", "")
        if shorter == brackets:
            return False  # unbalanced: the JSON parser names the fault
        brackets = shorter
    return bool(brackets)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _int(text: str) -> int:
    if len(text) > 19 or not -INT_LIMIT <= int(text) < INT_LIMIT:
        raise ValueError(f"number out of range ({len(text)} digits)")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    if json_depth_over(text, max_depth):
        raise LoadError(source, f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_int,
                          parse_float=_float)
    except json.JSONDecodeError as exc:
        raise LoadError(source, f"not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise LoadError(source, f"not valid JSON: {exc}") from None
