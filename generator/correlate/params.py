"""Request parameters of the correlation service: each one checked, every problem an ApiError (JSON 4xx)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from generator import promql
from generator.correlate import re2match, suggest
from generator.correlate.upstream import Matcher, UsageError, seconds

if TYPE_CHECKING:
    from generator.correlate.server import Settings

MAX_SELECTOR = 2000
AUTO_POINTS = 1440  # without an explicit step, the step grows with the window to keep about this many points


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": message, **extra}


@dataclass(frozen=True)
class When:
    options: suggest.Options
    end: float
    fixed: bool  # the request named its end: a past window, never served from an older answer


def _instant(text: str, what: str) -> float:
    """Unix seconds or an RFC 3339 time, as Prometheus' API takes them."""
    try:
        value = float(text)
    except ValueError:
        try:
            value = datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise ApiError(400, f"{what}: expected unix seconds or an RFC 3339 time, got {text[:40]!r}") from None
    if not math.isfinite(value) or not 0 <= value < 2**33:
        raise ApiError(400, f"{what}: out of range")
    return value


def when_param(settings: Settings, window: str | None, step: str | None, alpha: str | None, start: str | None = None,
          end: str | None = None) -> When:
    now = time.time()
    until = _instant(end, "end") if end else now
    if until > now + 60:
        raise ApiError(400, "end: in the future")
    try:
        if start:
            if window:
                raise ApiError(400, "give window or start, not both")
            began = _instant(start, "start")
            if began >= until:
                raise ApiError(400, "start: must be before end")
            w = int(until - began)
        else:
            w = seconds(window, "window") if window else settings.window
        s = seconds(step, "step") if step else max(settings.step, -(-w // AUTO_POINTS) // settings.step * settings.step)
    except UsageError as exc:
        raise ApiError(400, str(exc)) from None
    if w > suggest.MAX_WINDOW:
        raise ApiError(400, f"window: at most {promql.format_duration(suggest.MAX_WINDOW)}")
    if w // s + 1 > settings.max_points:
        raise ApiError(400, f"window {promql.format_duration(w)} at step {promql.format_duration(s)} gives "
                            f"{w // s + 1} points; at most {settings.max_points}: use a larger step")
    opts = suggest.Options(w, s, settings.alpha, max_candidates=settings.max_candidates)
    if alpha is not None:
        try:
            a = float(alpha)
        except ValueError:
            raise ApiError(400, f"alpha: expected a number between 0 and 1, got {alpha!r}") from None
        opts = suggest.Options(opts.window, opts.step, a, max_candidates=opts.max_candidates)
    try:
        opts.check()
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return When(opts, until, bool(end))


def matchers_param(settings: Settings, selector: str | None) -> list[Matcher]:
    if not selector or not selector.strip():
        return list(settings.selector)
    if len(selector) > MAX_SELECTOR:
        raise ApiError(400, f"selector: longer than {MAX_SELECTOR} characters")
    try:
        return [*settings.selector, *re2match.parse(selector)]
    except re2match.SelectorError as exc:
        raise ApiError(400, f"selector: {exc}") from None


def num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def int_param(text: str | None, what: str, default: int, lo: int, hi: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{what}: expected a whole number from {lo} to {hi}, got {text!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"{what}: expected a whole number from {lo} to {hi}, got {value}")
    return value
