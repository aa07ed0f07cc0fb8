"""Moved to generator.correlate.rawexpr (suggest evaluates raw expressions where recorded history is missing)."""

from generator.correlate.rawexpr import expand, recorded_in, rules_from, static_labels  # noqa: F401
