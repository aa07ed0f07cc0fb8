"""The correlation explorer: a page at `/` of `stereo serve`, and the small JSON helpers it needs.

The page (static/index.html, explorer.js, explorer.css: hand-written, no build step, nothing from a CDN) reads
the service's own endpoints — suggestions, findings, matrix — and these three:

* `GET /api/v1/signals` — the catalog's signals (name, title, unit, kind, home dashboard) and the settings the
  page needs (grafana_url, cluster label, default window, `min_rho`: the |ρ| floor of its list of related
  signals, correlations.LIST_MIN_RHO, the floor the alerts and runbooks use too);
* `GET /api/v1/labels?label=namespace&target=SIGNAL&selector=...` — the values a scope label takes where the
  target has data over the window (for the cluster / namespace / pod pickers). The label must be the cluster
  label, `namespace` or `pod`; the selector's exact values are bound into the target's PromQL escaped
  (promql.bind), regex matchers are applied by RE2 to the answer: nothing from the request is pasted into PromQL;
* `GET /api/v1/series?signals=a,b&selector=...&window=...` — the series of a few signals over the window on
  one aligned grid (values per step, null = gap), for the pair chart.

They run through the service's own machinery (`run`: worker pool, total deadline, singleflight, the same
upstream error statuses) and stay behind its bearer token. The page and its assets are public — a browser
navigating to `/` cannot send a token; the page asks for it (kept in sessionStorage) and sends it with every
API call — so `Page` serves them in front of the token check, from memory, with a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from generator import naming, promql
from generator.correlate import re2match, suggest
from generator.correlate.candidates import Catalog
from generator.correlate.params import ApiError, When, matchers_param, num, when_param
from generator.correlate.source import QueryRejected, Scoped, Source, TooManySeries
from generator.correlations import LIST_MIN_RHO
from generator.model import Signal

if TYPE_CHECKING:
    from generator.correlate.server import Settings

STATIC = Path(__file__).with_name("static")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
MAX_SERIES_SIGNALS = 4  # signals in one /api/v1/series request
MAX_ROWS = 8  # series per signal returned for the chart
LABEL_POINTS = 120  # the label lookup reads the window at about this many points

Runner = Callable[..., Awaitable[Response]]


class Page:
    """ASGI middleware serving the page and its assets (GET/HEAD) before anything else, token or not."""

    def __init__(self, app: ASGIApp, files: dict[str, tuple[bytes, str]]) -> None:
        self.app, self.files = app, files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = self.files.get(scope["path"]) if scope["type"] == "http" else None
        if hit is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        body, media = hit
        headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-cache"), (b"x-content-type-options", b"nosniff"),
                   (b"referrer-policy", b"no-referrer"), (b"content-security-policy", CSP.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def assets() -> dict[str, tuple[bytes, str]]:
    """URL path -> (bytes, content type) of every static file; index.html is also `/`."""
    files = {f"/static/explorer/{p.name}": (p.read_bytes(), TYPES[p.suffix]) for p in sorted(STATIC.iterdir())
             if p.suffix in TYPES}
    files["/"] = files["/static/explorer/index.html"]
    return files


def mount(app: FastAPI, settings: Settings, catalog: Catalog, source: Source, run: Runner) -> None:
    """Add the page and its helper endpoints to the service's app (call after its other middleware)."""
    cluster_label = settings.config.cluster_label
    grafana = settings.config.grafana_url.rstrip("/")
    app.add_middleware(Page, files=assets())

    def known(name: str) -> Signal:
        if name not in catalog:
            raise ApiError(404, f"unknown signal {name!r}", close=catalog.close(name))
        return catalog.signals[name]

    def scoped(matchers: list[re2match.Matcher]) -> tuple[Scoped, list[re2match.Matcher]]:
        exact, regex = re2match.split(matchers)
        return Scoped(source, re2match.keeper(regex)), exact

    @app.get("/api/v1/signals", summary="The catalog's signals and the settings the explorer page needs")
    async def signals() -> dict[str, Any]:
        out = [{"name": s.name, "title": s.title, "unit": s.unit, "kind": s.kind, "labels": list(s.labels),
                "description": s.description, "home": catalog.home(s.name),
                "dashboard": f"{grafana}/d/{naming.dashboard_uid(catalog.home(s.name))}"}
               for s in catalog.signals.values()]
        return {"grafana_url": grafana, "cluster_label": cluster_label, "min_rho": LIST_MIN_RHO,
                "window": promql.format_duration(settings.window),
                "signals": sorted(out, key=lambda s: (s["home"], s["title"], s["name"]))}

    @app.get("/api/v1/labels", summary="Values of a scope label where the target has data over the window",
             response_class=Response)
    async def labels(label: str = "", target: str = "", selector: str | None = None, window: str | None = None,
                     end: str | None = None) -> Response:
        if label not in (cluster_label, "namespace", "pod"):
            raise ApiError(400, f"label: expected one of {cluster_label}, namespace, pod")
        if not target:
            raise ApiError(400, "target: a signal name is required")
        sig = known(target)
        when = when_param(settings, window, None, None, None, end)
        matchers = matchers_param(settings, selector)
        w, base = when.options.window, settings.step
        step = max(base, -(-w // LABEL_POINTS) // base * base)

        def work(deadline: float) -> dict[str, Any]:
            src, exact = scoped(matchers)
            by = sorted({label, *(m[0] for m in matchers)})
            start, stop = int(when.end) - w, int(when.end)
            for s in (sig, catalog.raw_signal(sig.name)):
                if s is None:
                    continue
                query = f"count by ({', '.join(by)}) ({suggest.query_for(s, exact, cluster_label)})"
                try:
                    res = src.range(query, start, stop, step, deadline)
                except TooManySeries:
                    return {"label": label, "values": [], "complete": False,
                            "note": f"more than {settings.max_series} values: narrow the scope"}
                except QueryRejected as exc:
                    raise ApiError(502, str(exc)) from None
                values = sorted({lb[label] for lb in res.labels if label in lb and suggest.keep(lb, exact)})
                if values or res.labels:
                    return {"label": label, "values": values, "complete": True}
            return {"label": label, "values": [], "complete": True}

        return await run(("labels", label, target, tuple(matchers), w, step), when, work)

    @app.get("/api/v1/series", summary="A few signals over the window on one grid (for the pair chart)",
             response_class=Response)
    async def series(signals: str = "", selector: str | None = None, window: str | None = None,
                     step: str | None = None, start: str | None = None, end: str | None = None) -> Response:
        names = list(dict.fromkeys(n.strip() for n in signals.split(",") if n.strip()))
        if not 1 <= len(names) <= MAX_SERIES_SIGNALS:
            raise ApiError(400, f"signals: expected 1 to {MAX_SERIES_SIGNALS} comma-separated signal names")
        sigs = [known(n) for n in names]
        when = when_param(settings, window, step, None, start, end)
        matchers = matchers_param(settings, selector)

        def work(deadline: float) -> dict[str, Any]:
            return _series(catalog, sigs, scoped(matchers), cluster_label, when, deadline)

        return await run(("series", tuple(names), tuple(matchers), when.options), when, work)


def _series(catalog: Catalog, sigs: list[Signal], scoped: tuple[Scoped, list[re2match.Matcher]],
            cluster_label: str, when: When, deadline: float) -> dict[str, Any]:
    src, exact = scoped
    opts = when.options
    s, e = suggest.window_bounds(None, when.end, opts)
    times, fetched = suggest.fetch(src, sigs, exact, cluster_label, s, e, opts.step, deadline)  # type: ignore[arg-type]
    raw: dict[str, str] = {}
    fallback = {n: catalog.raw_signal(n) for n, f in fetched.items() if f.reason == "no data"}
    fallback = {n: r for n, r in fallback.items() if r is not None}
    if fallback:  # recorded series without samples: the rules' raw expressions, as suggest does
        _, again = suggest.fetch(src, list(fallback.values()), exact, cluster_label, s, e, opts.step,  # type: ignore[arg-type]
                                 deadline)
        for n, f in again.items():
            if not f.reason:
                fetched[n] = suggest.Fetched(catalog.signals[n], f.values, f.labels)
                raw[n] = suggest.query_for(fallback[n], exact, cluster_label)
    asked = {suggest.query_for(sig, exact, cluster_label) for sig in sigs}
    refused = [exc for query, exc in src.rejected if query in asked]
    if refused:
        raise ApiError(502, str(refused[0]))
    out = []
    for sig in sigs:
        f = fetched[sig.name]
        rows = [{"labels": f.labels[i], "values": [num(v) for v in f.values[i].tolist()]}
                for i in range(min(MAX_ROWS, len(f.labels)))]
        out.append({"signal": sig.name, "title": sig.title, "unit": sig.unit, "series": rows,
                    "more": max(0, len(f.labels) - MAX_ROWS), "reason": f.reason})
    return {"start": int(times[0]) if times.size else s, "step": opts.step, "points": int(times.size),
            "end": e, "signals": out, "raw": raw}
