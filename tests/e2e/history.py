"""Give a lab's recording rules a history over its backfilled hours.

Backfilled raw series have hours of history, recorded series only the minutes since Prometheus started. Signals
(and so `stereo suggest`) read recorded series over hours, so a test of them needs this. The work is
`generator.simulate.rulehistory.record_rules`, as in the demo: each rule's range query over the hours, loaded
with `promtool tsdb create-blocks-from openmetrics` level by level, the server restarting after each level so
the next reads the blocks just written (`promtool tsdb create-blocks-from rules` writes the same series, at a
hashed offset, in a block per rule and two-hour range: ~5x the CPU; tests/e2e/test_e2e_history.py runs both).
"""

from __future__ import annotations

import time

import yaml
from e2e.lab import Lab

from generator.simulate.rulehistory import record_rules


def _every(text: str, step: str) -> str:
    """The rule file with every group evaluated each `step`: the long-window group's own 5m would leave the
    history too sparse for a short test window."""
    doc = yaml.safe_load(text)
    for group in doc.get("groups", []):
        group["interval"] = step
    return yaml.safe_dump(doc, sort_keys=False)


def backfill_recording_rules(lab: Lab, start: int, end: int, step: str = "60s", parallel: int = 2) -> float:
    """Record every rule over [start, end]; returns the seconds it took. The server restarts."""
    began = time.monotonic()
    rule_texts = [_every(text, step) for path, text in sorted(lab.files.items()) if path.startswith("rules/")]
    record_rules(lab.prometheus, rule_texts, start, end, workers=parallel)
    return time.monotonic() - began
