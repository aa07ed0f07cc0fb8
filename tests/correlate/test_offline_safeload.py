"""`stereo correlate FILE.json` reads a saved query_range response through the project's one safe loader
(generator/safeload.py): a duplicate key is an error (json.loads kept the last one silently, merging two series
into one or dropping a label), nesting is bounded wherever it happens, and what passes reads as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generator.correlate import offline

START = 1782468000  # the capture's day (kubelet-cadvisor, Kubernetes 1.35)


def _series(pod: str, container: str, rate: float) -> str:
    """One series of a real-looking cAdvisor range answer, written out by hand so a key can be doubled."""
    labels = (f'"__name__": "container_cpu_usage_seconds_total", "container": "{container}", "cpu": "total", '
              f'"id": "/kubepods/burstable/pod0f1e/{container}", "image": "registry.k8s.io/{container}:v1.35.0", '
              f'"job": "kubelet", "metrics_path": "/metrics/cadvisor", "namespace": "kube-system", "pod": "{pod}"')
    values = ", ".join(f'[{START + 60 * i}, "{rate * i + (i % 3) * 0.25:.6f}"]' for i in range(12))
    return f'{{"metric": {{{labels}}}, "values": [{values}]}}'


def _response(*series: str) -> str:
    return '{"status": "success", "data": {"resultType": "matrix", "result": [' + ", ".join(series) + "]}}"


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str) -> tuple[int, str, str]:
    path = tmp_path / "query_range.json"
    path.write_text(body, encoding="utf-8")
    code = offline.main([str(path), "--format", "json"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_valid_response_reads_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = _response(_series("kube-proxy-7x2kd", "kube-proxy", 0.5), _series("coredns-5d78c9869d-4bq8w", "coredns",
                                                                            0.2))
    json.loads(body)  # the fixture itself is plain valid JSON
    table = offline.load_prometheus_json(body)
    assert len(table.series) == 2 and table.series[0].startswith('container_cpu_usage_seconds_total{container="kube')
    assert table.times[0] == str(START) and len(table.times) == 12
    np.testing.assert_allclose(table.values[0, :3], [0.0, 0.75, 1.5])
    code, out, err = _run(tmp_path, capsys, body)
    assert code == 0 and err == "" and json.loads(out)["n"] == 11  # changes of 12 points


@pytest.mark.parametrize(("where", "expected"), [
    ("label", "duplicate key 'pod'"),  # json.loads: the second pod wins, the series are silently renamed
    ("values", "duplicate key 'values'"),  # json.loads: the first 12 points vanish
    ("status", "duplicate key 'status'"),  # json.loads: "error" then "success" reads as success
])
def test_a_duplicate_key_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str,
                                                expected: str) -> None:
    good = _series("kube-proxy-7x2kd", "kube-proxy", 0.5)
    if where == "label":
        bad = _series("etcd-node-1", "etcd", 0.3).replace('"pod": "etcd-node-1"',
                                                           '"pod": "etcd-node-1", "pod": "kube-proxy-7x2kd"')
        body = _response(good, bad)
    elif where == "values":
        body = _response(good, _series("etcd-node-1", "etcd", 0.3).replace(
            '"values": [', '"values": [[1782468000, "1"]], "values": ['))
    else:
        body = _response(good, _series("etcd-node-1", "etcd", 0.3)).replace(
            '{"status": "success"', '{"status": "error", "status": "success"')
    with pytest.raises(offline.InputError, match=expected):
        offline.load_prometheus_json(body)
    code, out, err = _run(tmp_path, capsys, body)
    assert code == 2 and out == ""
    assert err.startswith(f"stereo correlate: {tmp_path / 'query_range.json'}: not valid JSON: ") and expected in err
    assert err.count("\n") == 1


def test_deep_nesting_inside_a_series_is_refused_before_parsing(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Nesting where a label value belongs (not at the top, where a quick look would see it), deeper than the
    loader's bound and than json's own recursion limit."""
    deep = "[" * 3000 + '"x"' + "]" * 3000
    body = _response(_series("kube-proxy-7x2kd", "kube-proxy", 0.5),
                     _series("etcd-node-1", "etcd", 0.3).replace('"cpu": "total"', f'"cpu": {deep}'))
    code, out, err = _run(tmp_path, capsys, body)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "nested deeper than 32 levels" in err
    shallow = _response(_series("kube-proxy-7x2kd", "kube-proxy", 0.5),
                        _series("etcd-node-1", "etcd", 0.3).replace('"cpu": "total"', '"cpu": ' + "[" * 20 + "]" * 20))
    code, _, err = _run(tmp_path, capsys, shallow)  # 20 levels: within the bound, read
    assert code == 0 and err == ""
