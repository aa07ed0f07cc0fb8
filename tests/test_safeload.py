"""generator.safeload: every hostile file ends in one LoadError line, never a traceback, a hang or a blow-up.

The multi-megabyte inputs are made here at run time rather than committed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from generator import safeload
from generator.safeload import LoadError


def _write(tmp_path: Path, data: bytes | str, name: str = "in.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _error(path: Path, **kw: object) -> str:
    with pytest.raises(LoadError) as info:
        safeload.load_yaml(path, **kw)  # type: ignore[arg-type]
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(path))
    return text


# ------------------------------------------------------------------------------------------------ encoding
@pytest.mark.parametrize(("data", "expected"), [
    ("profile: managed\n".encode("utf-16"), "not UTF-8 text (UTF-16, by its byte-order mark)"),
    ("profile: managed\n".encode("utf-16-le"), ":1: not UTF-8 text (UTF-16 or binary content, a NUL byte)"),
    ("profile: managed\n".encode("utf-32"), "not UTF-8 text"),
    (bytes(range(256)) * 4, ":1: not UTF-8 text"),
    (b"a: 1\nb: caf\xe9\n", ":2: not UTF-8 text (byte 0xe9)"),
])
def test_not_utf8(tmp_path: Path, data: bytes, expected: str) -> None:
    assert expected in _error(_write(tmp_path, data))


def test_bom_is_tolerated(tmp_path: Path) -> None:
    doc = safeload.load_yaml(_write(tmp_path, b"\xef\xbb\xbfprofile: managed\nslo:\n  objective: 0.99\n"))
    assert doc.data == {"profile": "managed", "slo": {"objective": 0.99}}
    assert doc.lines == {"profile": 1, "slo": 2, "slo.objective": 3}


# --------------------------------------------------------------------------------------------- what it is
def test_devices_pipes_and_directories_are_refused(tmp_path: Path) -> None:
    assert "not a regular file" in _error(Path("/dev/urandom"))
    assert "not a regular file" in _error(Path("/dev/zero"))
    assert "is a directory" in _error(tmp_path)
    assert "No such file" in _error(tmp_path / "missing.yaml")


def test_fifo_without_writer_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(_error(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=60)  # generous: a blocking open would never return
    assert result and "not a regular file" in result[0]


# --------------------------------------------------------------------------------------------------- sizes
def test_file_over_the_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "cluster_label: " + "x" * (3 * 1024 * 1024) + "\n")
    assert _error(path).endswith("file is larger than the 2 MiB limit")


def test_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    body = ("# " + "c" * 97 + "\n") * (safeload.CONFIG_LIMIT // 100 - 1) + "profile: managed\n"
    assert safeload.load_yaml(_write(tmp_path, body)).data == {"profile": "managed"}


def test_too_many_nodes(tmp_path: Path) -> None:
    path = _write(tmp_path, "thresholds: [" + "1," * 900_000 + "1]\n")
    assert ":1: more than 200000 YAML nodes" in _error(path)


def test_data_limit_is_larger(tmp_path: Path) -> None:
    path = _write(tmp_path, "x" * (3 * 1024 * 1024), "data.csv")
    assert len(safeload.read_text(path, safeload.DATA_LIMIT)) == 3 * 1024 * 1024


# ------------------------------------------------------------------------------------------ aliases, depth
def test_billion_laughs_allocates_nothing(tmp_path: Path) -> None:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 30)]
    assert ":2: YAML alias *a0 is not allowed" in _error(_write(tmp_path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize("depth", [33, 1000, 200_000])
def test_deep_nesting(tmp_path: Path, depth: int) -> None:
    text = _error(_write(tmp_path, "a: " + "[" * depth + "]" * depth + "\n"))
    assert "nested deeper than 32 levels" in text or "exceeded maximum nesting depth" in text


def test_depth_32_is_fine(tmp_path: Path) -> None:
    doc = safeload.load_yaml(_write(tmp_path, "[" * 32 + "]" * 32 + "\n"))
    assert doc.data is not None


def test_duplicates_numbers_and_keys() -> None:
    with pytest.raises(LoadError, match=r"^f:3: duplicate key b \(the first is on line 2\)$"):
        safeload.parse_yaml("a:\n  b: 1\n  b: 2\n", "f")
    with pytest.raises(LoadError, match=r"^f:1: x: number out of range"):
        safeload.parse_yaml("x: " + "1" * 400, "f")
    with pytest.raises(LoadError, match=r"^f:2: y\[0\]: expected a finite number, got -.inf"):
        safeload.parse_yaml("x: 1\ny: [-.inf]\n", "f")
    with pytest.raises(LoadError, match=r"^f:1: a key must be a string"):
        safeload.parse_yaml("{[1]: 2}", "f")
    assert safeload.parse_yaml("x: 9223372036854775807\n", "f").data == {"x": 2**63 - 1}


def test_line_of_falls_back_to_the_parent() -> None:
    lines = {"a": 1, "a.b": 2, "a.b[3]": 5}
    assert safeload.line_of("a.b[3].c.d", lines) == 5
    assert safeload.line_of("a.x", lines) == 1
    assert safeload.line_of("z", lines) is None


# --------------------------------------------------------------------------------------------------- JSON
@pytest.mark.parametrize(("text", "expected"), [
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 32 levels"),
    ('{"a": ' * 50 + "1" + "}" * 50, "nested deeper than 32 levels"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": NaN}', "NaN is not a number JSON allows"),
    ('{"a": -Infinity}', "-Infinity is not a number JSON allows"),
    ('{"a": ' + "9" * 400 + "}", "number out of range (400 digits)"),
    ('{"a": 1e999}', "number out of range"),
    ('{"a": [1, 2}', ":1: not valid JSON"),
])
def test_json_refusals(text: str, expected: str) -> None:
    with pytest.raises(LoadError) as info:
        safeload.parse_json(text, "r.json")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_json_brackets_inside_strings_do_not_count() -> None:
    doc = safeload.parse_json('{"a": "' + "[{" * 1000 + '", "b": [[1]]}', "r.json")
    assert doc["b"] == [[1]]
    assert safeload.json_depth_over("[" * 32 + "]" * 32, 32) is False
    assert safeload.json_depth_over("[" * 33 + "]" * 33, 32) is True
