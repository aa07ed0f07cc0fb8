"""The render wing: files from (site settings, the site's built components, pairs) — rules, alerts, promtool
tests, runbooks, dashboards, provisioning, Alertmanager, manifests.

Every function here is pure: it reads no file, opens no socket and builds no catalog (generator.build does the
building, generator.pairsource the reading; tests/test_pipeline.py runs render with all three forbidden).
"""
