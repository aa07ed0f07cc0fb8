"""Test-only tooling: the Grafana dashboard JSON Schema (see grafana_schema.py)."""
