"""tools/real_rule_cost.py scrapes each real capture under the job the default selectors read: if a selector
changes, the capture must still land where the site's rules look (else the tool measures rules reading nothing)."""

from __future__ import annotations

import sys
from pathlib import Path

from generator import promql
from generator.config import DEFAULT_SELECTORS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import real_rule_cost


def _matches(selector: str, labels: dict[str, str]) -> bool:
    return all((labels.get(label, "") == value) == (op == "=") if op in ("=", "!=")
               else bool(promql.compile_regex(value).match(labels.get(label, ""))) == (op == "=~")
               for label, op, value in promql.parse_selector(selector))


def test_every_capture_lands_under_a_default_selector(tmp_path: Path) -> None:
    for prefix in real_rule_cost.JOBS:
        (tmp_path / f"{prefix}x__capture.prom").write_text("up 1\n", encoding="utf-8")
    (tmp_path / "unknown-component.prom").write_text("up 1\n", encoding="utf-8")
    jobs = real_rule_cost._scrape(tmp_path, 9)
    assert len(jobs) == len(real_rule_cost.JOBS)  # the unknown capture is left out
    read = set()
    for job in jobs:
        labels = {r["target_label"]: r["replacement"] for r in job["relabel_configs"]}
        assert job["static_configs"][0]["targets"] == ["127.0.0.1:9"]
        read |= {source for source, selector in DEFAULT_SELECTORS.items() if "job=" in selector
                 and _matches(selector, labels)}
    assert read == {source for source, selector in DEFAULT_SELECTORS.items() if "job=" in selector}
