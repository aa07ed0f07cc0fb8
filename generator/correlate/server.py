"""`stereo serve`: the correlation service Grafana queries live (FastAPI + uvicorn).

Endpoints (JSON unless said otherwise; every error is JSON `{"error": "..."}`):

* `GET /api/v1/suggestions?target=SIGNAL&selector=...&window=...&step=...&alpha=...&k=...` — what moves with the
  target now: `suggestions` (significant, strongest first, at most k), `not_significant`, `missing`;
* `GET /api/v1/matrix?signals=a,b,c&selector=...` — flat rows {a, b, rho, pvalue, significant, n}, every ordered
  pair and the diagonal, which Grafana's Infinity datasource reads as a table or heatmap as they are;
* `GET /api/v1/findings?targets=a,b&selector=...` — every object-scoped finding {a, b, scope, rho, n, p, q,
  critical, derived, phase, window, ...}, the objects `stereo suggest --json` writes (suggestions carry the
  target's own as `findings`);
* `GET /api/v1/correlations.yaml` — the document `stereo suggest` writes, measured now;
* `GET /healthz` (liveness, never asks Prometheus), `GET /readyz` (asks Prometheus), `GET /metrics` (the
  service's own metrics), and FastAPI's `/openapi.json` and `/docs`.

Every measuring endpoint takes `window` (default 6h) ending now, or `start` and/or `end` (unix seconds or
RFC 3339) for a past window.

Robustness: the event loop only routes requests; fetching runs in a thread pool (waiting on sockets), decoding
the upstream's answers and the analysis in a few worker processes (workers.py: neither can hold the event loop's
interpreter lock), all under a total deadline (504 when it passes, the upstream call included, however slowly
the upstream dribbles). Each question is computed once at a time and, while a new step's answer is computed,
the previous one is served (singleflight.py).
Regex matchers of a selector are matched with RE2 (re2match.py), never Python's backtracking `re`. Upstream
faults map to the same status on every endpoint: refused query 502, unreachable 503, no answer in time 504; the
next request tries again, so the service recovers with Prometheus. With `--token-file`, every endpoint but
/healthz, /readyz and /metrics needs `Authorization: Bearer <token>` (the scheme in any case).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from generator import correlations, naming, promql
from generator.config import Config
from generator.correlate import explorer, re2match, stats, suggest, workers
from generator.correlate.candidates import Candidate
from generator.correlate.httpparts import JSON, Guard, Metrics, encoded, error
from generator.correlate.params import ApiError, When, int_param, matchers_param, num, when_param
from generator.correlate.singleflight import Answers
from generator.correlate.source import Auth, RangeCache, Scoped, Source, SourceError
from generator.correlate.upstream import (
    Matcher,
    Parser,
    UsageError,
    read_secret,
    seconds,
    site_catalog,
    upstream,
    upstream_options,
)

PROG = "stereo serve"
MAX_FINDINGS = 2000  # object-scoped findings in one answer (ranked: the strongest measured ones first)
YAML = "application/yaml; charset=utf-8"
KEEP_ALIVE = 75  # seconds an idle connection stays open (uvicorn: 5): a browser reusing one being closed waits forever


@dataclass(frozen=True)
class Settings:
    prometheus_url: str
    config: Config = field(default_factory=Config)
    token: str | None = None  # the service's own bearer token
    auth: Auth = field(default_factory=Auth)  # credentials for the upstream
    selector: tuple[Matcher, ...] = ()  # matchers added to every request's selector
    timeout: float = 10.0
    max_concurrency: int = 4
    cache_size: int = 256
    window: int = 6 * 3600
    step: int = 60
    alpha: float = stats.DEFAULT_ALPHA
    k: int = 10
    max_candidates: int = 40
    max_signals: int = 50
    max_points: int = 11_000
    max_series: int = 200  # per query: a request stays a request, not a cluster-wide scan
    retries: int = 2
    verify_tls: bool = True
    stale_for: float = 300.0  # serve the previous answer of a question this long while its next one is computed
    analysis_workers: int = 2  # worker processes for the analysis (workers.py); 0: in the request's thread


# ---------------------------------------------------------------- the app


def create_app(settings: Settings) -> FastAPI:
    catalog = site_catalog(settings.config)
    prior = correlations.prior(set(catalog.signals))
    related = suggest.related(prior)
    metrics = Metrics()
    analysts = workers.Analysts(catalog.derived, settings.analysis_workers)  # processes start on first use
    source = Source(settings.prometheus_url, settings.auth, timeout=settings.timeout, retries=settings.retries,
                    max_concurrency=settings.max_concurrency, max_series=settings.max_series,
                    cache=RangeCache(settings.cache_size), hooks=metrics.hooks(), verify_tls=settings.verify_tls,
                    decoder=lambda fn, args, deadline: analysts.run(fn, args, deadline, "decoding an answer"))
    pool = ThreadPoolExecutor(max_workers=max(4, 2 * settings.max_concurrency), thread_name_prefix="stereo-serve")
    answers = Answers(settings.cache_size, settings.stale_for,
                      lambda result: metrics.cache.labels("response", result).inc())
    cluster_label = settings.config.cluster_label
    pair_uid = naming.dashboard_uid("pair")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown(wait=False, cancel_futures=True)
        analysts.close()
        source.close()

    app = FastAPI(title="Stereo correlation service", version="1", lifespan=lifespan,
                  description="Which signals move together now: Spearman ρ with a significance test, measured on "
                              "a live Prometheus. Every error is JSON {\"error\": \"...\"}.")
    app.state.analysts, app.state.source = analysts, source

    async def run(key: tuple[Any, ...], when: When, fn: Callable[[float], Any], media_type: str = JSON) -> Response:
        """`fn(deadline)` in the pool under a total deadline, computed once per (key, step of the window's end);
        the previous step's answer is served while the next is computed."""
        generation = int(when.end // when.options.step)
        if when.fixed:
            key, generation = (*key, generation), 0

        async def compute() -> bytes:
            deadline = time.monotonic() + settings.timeout
            analysts.start()  # on the event loop's thread: forks the analysis workers on the first request only
            return await asyncio.get_running_loop().run_in_executor(pool, encoded, fn, deadline)

        try:
            answer = await answers.get(key, generation, compute, settings.timeout)
        except TimeoutError:
            metrics.upstream_errors.labels("deadline").inc()
            raise ApiError(504, f"no answer within {settings.timeout:g}s (Prometheus slow or busy)") from None
        except SourceError as exc:
            raise ApiError(exc.status, str(exc)) from None
        return Response(answer.body, media_type=media_type, headers={"Age": str(int(answer.age()))})

    def measure(todo: dict[str, list[Candidate]], matchers: list[Matcher], when: When,
                deadline: float) -> suggest.Measurement:
        """suggest.measure with exact matchers bound into the queries and regex matchers applied by RE2 to the
        returned series; a signal's query Prometheus refused is the upstream's fault on every endpoint alike (502).
        A refused raw-expression fallback (suggest's second try for a recorded series without samples) leaves
        that signal without data, as if the fallback had found none."""
        exact, regex = re2match.split(matchers)
        scoped = Scoped(source, re2match.keeper(regex))
        m = suggest.measure(scoped, catalog, todo, exact, cluster_label, when.options,  # type: ignore[arg-type]
                            when.end, deadline,
                            analyser=lambda times, fetched, targets, options, _derived:
                            analysts.analyse(times, fetched, targets, options, deadline))
        asked = {suggest.query_for(catalog.signals[n], exact, cluster_label)
                 for n in {*todo, *(c.signal.name for cs in todo.values() for c in cs)}}
        refused = [exc for query, exc in scoped.rejected if query in asked]  # not the raw-expression fallbacks
        if refused:
            raise ApiError(502, str(refused[0]))
        return m

    def known(name: str) -> str:
        if name not in catalog:
            raise ApiError(404, f"unknown signal {name!r}", close=catalog.close(name))
        return name

    def pair_url(a: str, b: str, m: suggest.Measurement, matchers: list[Matcher]) -> str:
        url = (f"{settings.config.grafana_url}/d/{pair_uid}/pair?var-a={quote(a)}&var-b={quote(b)}"
               f"&var-a_home={naming.dashboard_uid(catalog.home(a))}&var-b_home={naming.dashboard_uid(catalog.home(b))}"
               f"&from={m.start * 1000}&to={m.end * 1000}")
        variables = {cluster_label: "cluster", "namespace": "namespace", "pod": "pod"}
        for label, op, value in matchers:
            if op == "=" and label in variables:
                url += f"&var-{variables[label]}={quote(value, safe='')}"
        return url

    def item(f: suggest.Finding, m: suggest.Measurement, matchers: list[Matcher]) -> dict[str, Any]:
        return {
            "name": f.partner, "title": catalog.index.title.get(f.partner, f.partner), "home": catalog.home(f.partner),
            "tier": f.tier, "rho": num(f.rho), "pvalue": num(f.pvalue), "qvalue": num(f.qvalue), "n": f.n,
            "n_eff": f.n_eff, "critical": num(f.critical), "significant": f.significant, "expected": f.expected,
            "stability": num(f.stability), "target_labels": f.target_labels, "labels": f.partner_labels,
            "short": [{"time": t, "rho": num(r)} for t, r in zip(f.short_times, f.short_rho, strict=True)],
            "url": pair_url(f.target, f.partner, m, matchers),
        }

    app.add_middleware(Guard, token=settings.token, metrics=metrics)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        return error(400, f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', 'invalid')}")

    @app.get("/healthz", summary="Liveness: answers without asking Prometheus")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: Prometheus answers a trivial query within 2 s (503/504 otherwise)")
    async def readyz() -> dict[str, str]:
        deadline = time.monotonic() + min(2.0, settings.timeout)
        loop = asyncio.get_running_loop()
        analysts.start()  # the answer is decoded in a worker, as every upstream answer (forked here, on the loop)
        try:
            await loop.run_in_executor(pool, lambda: source.instant("vector(1)", deadline=deadline))
        except SourceError as exc:
            raise ApiError(exc.status, str(exc)) from None
        return {"status": "ready"}

    @app.get("/metrics", summary="The service's own metrics (Prometheus text format)")
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/suggestions", summary="Signals that move with a target now, strongest significant first",
             response_class=Response, responses=_doc("{target, window, step, alpha, method, start, end, selector, "
                                                     "suggestions: [...], not_significant: [...], missing: [...]}"))
    async def suggestions(target: str = "", selector: str | None = None, window: str | None = None,
                          step: str | None = None, alpha: str | None = None, k: str | None = None,
                          start: str | None = None, end: str | None = None) -> Response:
        if not target:
            raise ApiError(400, "target: a signal name is required")
        known(target)
        when = when_param(settings, window, step, alpha, start, end)
        opts = when.options
        limit = int_param(k, "k", settings.k, 1, 100)
        matchers = matchers_param(settings, selector)
        todo = suggest.plan(catalog, [target], related, opts.max_candidates)

        def work(deadline: float) -> dict[str, Any]:
            m = measure(todo, matchers, when, deadline)
            if target in m.target_reason and m.target_reason[target] != "no data":
                raise ApiError(422, m.target_reason[target])  # the only query error left: too many series
            found = m.findings[target]
            return {
                "target": target, "window": promql.format_duration(opts.window),
                "step": promql.format_duration(opts.step), "alpha": opts.alpha, "method": opts.method,
                "start": m.start, "end": m.end, "selector": _selector_text(matchers),
                "suggestions": [item(f, m, matchers) for f in found if f.significant and not f.derived][:limit],
                "not_significant": [item(f, m, matchers) for f in found if not f.significant and not f.derived],
                "findings": [f for f in suggest.findings_json(m, include_derived=False)
                             if target in (f["a"], f["b"])][:MAX_FINDINGS],
                "missing": [{"name": n, "reason": r} for n, r in
                            ([(target, m.target_reason[target])] if target in m.target_reason else []) +
                            m.missing[target]],
            }

        return await run(("suggestions", target, tuple(matchers), opts, limit), when, work)

    @app.get("/api/v1/matrix", summary="ρ of every pair of the given signals, as flat rows", response_class=Response,
             responses=_doc("[{a, b, rho, pvalue, significant, n}, ...]: every ordered pair and the diagonal"))
    async def matrix(signals: str = "", selector: str | None = None, window: str | None = None,
                     step: str | None = None, alpha: str | None = None, start: str | None = None,
                     end: str | None = None) -> Response:
        names = list(dict.fromkeys(n.strip() for n in signals.split(",") if n.strip()))
        if len(names) < 2 or len(names) > settings.max_signals:
            raise ApiError(400, f"signals: expected 2 to {settings.max_signals} comma-separated signal names")
        for n in names:
            known(n)
        when = when_param(settings, window, step, alpha, start, end)
        matchers = matchers_param(settings, selector)
        todo = {a: [Candidate(catalog.signals[b], "matrix", catalog.home(b)) for b in names if b != a] for a in names}

        def work(deadline: float) -> list[dict[str, Any]]:
            m = measure(todo, matchers, when, deadline)
            found = {(f.target, f.partner): f for fs in m.findings.values() for f in fs}
            rows = []
            for a in names:
                for b in names:
                    if a == b:
                        rows.append({"a": a, "b": b, "rho": 1.0, "pvalue": None, "significant": False, "n": None})
                        continue
                    f = found.get((min(a, b), max(a, b)))  # one direction for both: exactly symmetric
                    rows.append({"a": a, "b": b, "rho": num(f.rho) if f else None,
                                 "pvalue": num(f.pvalue) if f else None, "significant": bool(f and f.significant),
                                 "n": f.n if f else None})
            return rows

        return await run(("matrix", tuple(names), tuple(matchers), when.options), when, work)

    @app.get("/api/v1/findings", summary="Every object-scoped finding, as `stereo suggest --json` writes them",
             response_class=Response, responses=_doc("[{a, b, scope, rho, n, n_eff, p, q, critical, significant, "
                                                     "derived, expected, phase, change, points, present, partial, "
                                                     "window: {start, end}}, ...]"))
    async def findings(targets: str | None = None, selector: str | None = None, window: str | None = None,
                       step: str | None = None, alpha: str | None = None, start: str | None = None,
                       end: str | None = None, derived: str | None = None) -> Response:
        when = when_param(settings, window, step, alpha, start, end)
        matchers = matchers_param(settings, selector)
        names = [known(t.strip()) for t in (targets or "").split(",") if t.strip()]
        names = names or suggest.default_targets(catalog, prior)
        todo = suggest.plan(catalog, names, related, when.options.max_candidates)
        with_derived = derived in ("1", "true", "yes")

        def work(deadline: float) -> list[dict[str, Any]]:
            return suggest.findings_json(measure(todo, matchers, when, deadline), with_derived)[:MAX_FINDINGS]

        return await run(("findings", tuple(names), tuple(matchers), when.options, with_derived), when, work)

    @app.get("/api/v1/correlations.yaml", summary="The correlations.yaml document, measured now",
             response_class=Response, responses={200: {"content": {"application/yaml": {}}}})
    async def correlations_yaml(selector: str | None = None, window: str | None = None, step: str | None = None,
                                alpha: str | None = None, targets: str | None = None, start: str | None = None,
                                end: str | None = None) -> Response:
        when = when_param(settings, window, step, alpha, start, end)
        opts = when.options
        matchers = matchers_param(settings, selector)
        names = [known(t.strip()) for t in (targets or "").split(",") if t.strip()]
        names = names or suggest.default_targets(catalog, prior)
        todo = suggest.plan(catalog, names, related, opts.max_candidates)

        def work(deadline: float) -> str:
            m = measure(todo, matchers, when, deadline)
            return correlations.dump(suggest.pairs(m, catalog, prior), suggest.header(opts))

        return await run(("yaml", tuple(names), tuple(matchers), opts), when, work, YAML)

    explorer.mount(app, settings, catalog, source, run)  # the page at / and its helpers (explorer.py)
    return app


def _doc(shape: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": shape, "content": {JSON: {}}},
            400: {"description": "bad parameter: {error}"}, 404: {"description": "unknown signal: {error, close}"},
            502: {"description": "Prometheus answered badly"}, 503: {"description": "Prometheus unreachable"},
            504: {"description": "no answer within the timeout"}}


def _selector_text(matchers: list[Matcher]) -> str:
    return ",".join(promql.matcher(label, op, value) for label, op, value in matchers)


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen: expected HOST:PORT such as 127.0.0.1:9797, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _parser() -> Parser:
    p = Parser(prog=PROG, description="Run the correlation service Grafana queries (FastAPI + uvicorn).")
    upstream_options(p)
    p.add_argument("--listen", default="127.0.0.1:9797", help="HOST:PORT to listen on (default 127.0.0.1:9797)")
    p.add_argument("--token-file", metavar="F", help="require Authorization: Bearer <contents of F> (not on "
                                                     "/healthz and /metrics)")
    p.add_argument("--timeout", default="10s", help="answer within this time, 504 otherwise (default 10s)")
    p.add_argument("--max-concurrency", type=int, default=4, help="upstream queries in flight (default 4)")
    p.add_argument("--cache-size", type=int, default=256, help="fetched ranges kept in memory (default 256)")
    p.add_argument("--max-series", type=int, default=200, help="series one signal may return (default 200)")
    p.add_argument("--window", default="6h", help="default window of a request (default 6h)")
    p.add_argument("--step", default="60s", help="default (smallest) step (default 60s)")
    p.add_argument("--analysis-workers", type=int, default=2, help="analysis processes (default 2; 0: none)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    return p


def settings_from(argv: list[str]) -> tuple[Settings, str, int, str]:
    args = _parser().parse_args(argv)
    config, url, auth, matchers = upstream(args)
    host, port = _listen(args.listen)
    if args.max_concurrency < 1 or args.cache_size < 0 or args.max_series < 1 or not 0 <= args.analysis_workers <= 64:
        raise UsageError("--max-concurrency and --max-series must be ≥ 1, --cache-size ≥ 0, --analysis-workers 0..64")
    token = read_secret(args.token_file, "--token-file") if args.token_file else None
    settings = Settings(url, config, token, auth, tuple(matchers), timeout=seconds(args.timeout, "--timeout"),
                        max_concurrency=args.max_concurrency, cache_size=args.cache_size, max_series=args.max_series,
                        window=seconds(args.window, "--window"), step=seconds(args.step, "--step"),
                        verify_tls=not args.insecure_skip_verify, analysis_workers=args.analysis_workers)
    return settings, host, port, args.log_level


def main(argv: list[str]) -> int:
    try:
        settings, host, port, log_level = settings_from(argv)
        app = create_app(settings)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    import uvicorn
    sys.setswitchinterval(0.001)  # how long /healthz may wait for a thread holding the GIL (5 ms by default)
    workers.settle()  # the app built so far out of the garbage collector's full collections

    print(f"{PROG}: listening on http://{host}:{port}, reading {settings.prometheus_url}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_keep_alive=KEEP_ALIVE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
