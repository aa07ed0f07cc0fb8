"""Every generated dashboard is valid against the JSON Schema of Grafana's dashboard types (npm @grafana/schema,
through ts-json-schema-generator; see tests/schema/grafana_schema.py)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from dashboard_helpers import prior, render, site
from schema.grafana_schema import dashboard_schema, default_cache_dir, validate_dashboard

# CI installs npm (.ci/run), so there a missing npm fails instead of skipping
pytestmark = pytest.mark.skipif(shutil.which("npm") is None and not os.environ.get("CI"),
                                reason="npm (Node 20+) builds the dashboard schema")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dashboard_schema(default_cache_dir())


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    components, config = site()
    return render(components, config, prior(components))


def test_every_dashboard_is_valid(schema: dict[str, Any], boards: dict[str, dict[str, Any]]) -> None:
    assert len(boards) >= 12
    errors = {path: validate_dashboard(schema, dash) for path, dash in boards.items()}
    assert {path: e for path, e in errors.items() if e} == {}
