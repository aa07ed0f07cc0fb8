"""kube-apiserver SLOs: availability, read latency and write latency, alerted on by multi-window multi-burn-rate.

The windows and burn-rate factors are data (generator/data/slo_windows.yaml); the objective and the latency
targets are site settings (slo.objective, slo.read_latency, slo.write_latency). Only the 5m rates are computed
from raw counters. Every longer window is a ratio of sums of those recorded 5m rates, weighted by traffic:
    ratio_rateW = sum_over_time(errors:rate5m[W]) / sum_over_time(requests:rate5m[W])
so a 3-day window reads one recorded series per SLO and cluster instead of three days of raw samples.
All three SLOs share the same recorded series, told apart by an `slo` label.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from generator import buckets
from generator.catalog.helpers import counter
from generator.catalog.kube_apiserver.names import ETCD_Q, LAT_VERB_Q, PREFIX, REQ_RATE, SRC
from generator.context import TEST_CLUSTER, Context
from generator.model import SEVERITIES, Alert, Case, RecordingRule, RuleTest
from generator.promql import PromQLError, fmt_number, format_duration, parse_duration, record_name

SLO_REQUESTS = record_name("cluster_slo", "apiserver_slo_requests", "rate5m")
SLO_ERRORS = record_name("cluster_slo", "apiserver_slo_errors", "rate5m")
# hourly averages of the 5m rates: the period-long (30d) ratio is built from these, 12× fewer samples
SLO_REQUESTS_1H = record_name("cluster_slo", "apiserver_slo_requests", "rate1h")
SLO_ERRORS_1H = record_name("cluster_slo", "apiserver_slo_errors", "rate1h")

# verbs the SLOs count; WATCH and CONNECT are long-running and have no meaningful latency or error ratio
READ_VERBS = "LIST|GET"
WRITE_VERBS = "POST|PUT|PATCH|DELETE|APPLY"
SLO_VERBS = f"{READ_VERBS}|{WRITE_VERBS}"
# streaming subresources (GET pods/log, exec, port-forward…) last as long as the client wants
STREAMING = "proxy|attach|log|exec|portforward"
# apiserver_request_sli_duration_seconds buckets (Kubernetes 1.26+; it replaced apiserver_request_slo_duration_seconds).
# The SLI histogram leaves out webhook time and API Priority and Fairness queue waits, which the apiserver does not
# control, so it is the one to hold an SLO to; apiserver_request_duration_seconds (what clients feel) feeds the p99.
SLI_BUCKETS = buckets.APISERVER_SLI
# read latency targets per scope, as multiples of slo.read_latency: kubernetes-mixin's 1s / 5s / 30s. A LIST over a
# namespace or the whole cluster grows with the collection, so one target for every read would page on big clusters.
READ_SCOPES = (('scope=~"resource|"', 1), ('scope="namespace"', 5), ('scope="cluster"', 30))
BASE_WINDOW = "5m"
FAST_WINDOW_MAX = 3600  # windows up to 1h sit in the base group; longer ones in the slow (5m) group
# promtool evaluates every rule and alert at every minute of a case (about 5 ms a minute for this component), so a
# 3-day case alone takes 20 s. Cases fill windows up to 2h (one slow-group window); a longer window reads the same
# constant ratio over all the data there is, and the day-long ones are checked statically (pytest).
FULL_TEST_MAX = 2 * 3600
BRIEF_TEST_MAX = 30 * 60  # the other SLOs share the first one's windows: their cases only prove their inputs


def ratio_name(window: str) -> str:
    return record_name("cluster_slo", "apiserver_slo_errors", f"ratio_rate{window}")


def slo_bucket(target: str, scale: float = 1) -> float:
    """The SLI bucket a latency target (times `scale`) is measured at: the bucket equal to it, else the largest below.

    Rounding down never counts a request as good that took longer than the target; below the smallest bucket
    the smallest is used.
    """
    seconds = parse_duration(target) * scale
    below = [b for b in SLI_BUCKETS if b <= seconds + 1e-9]
    return below[-1] if below else SLI_BUCKETS[0]


# ------------------------------------------------------------------------------------------- windows (data)
@dataclass(frozen=True)
class Pair:
    long: str
    short: str
    factor: float


@dataclass(frozen=True)
class BurnAlert:
    severity: str
    suffix: str
    for_: str
    pairs: tuple[Pair, ...]


@dataclass(frozen=True)
class Windows:
    period: str
    alerts: tuple[BurnAlert, ...]

    def all(self) -> list[str]:
        """Every window the alerts read, shortest first."""
        names = {w for a in self.alerts for p in a.pairs for w in (p.long, p.short)}
        return sorted(names, key=parse_duration)


def _window(value: Any, where: str) -> str:
    try:
        seconds = parse_duration(str(value))
    except PromQLError:
        raise ValueError(f"slo_windows.yaml: {where}: {value!r} is not a duration") from None
    if seconds < parse_duration(BASE_WINDOW) or seconds % 60:
        raise ValueError(f"slo_windows.yaml: {where}: windows are whole minutes, at least {BASE_WINDOW}")
    return format_duration(seconds)


def load_windows(text: str | None = None) -> Windows:
    """Read generator/data/slo_windows.yaml (or `text`, for tests) and check it."""
    if text is None:
        text = importlib.resources.files("generator.data").joinpath("slo_windows.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    alerts = []
    for i, a in enumerate(data["alerts"]):
        if a["severity"] not in SEVERITIES:
            raise ValueError(f"slo_windows.yaml: alerts[{i}].severity must be one of {SEVERITIES}")
        pairs = []
        for j, p in enumerate(a["pairs"]):
            where = f"alerts[{i}].pairs[{j}]"
            pair = Pair(_window(p["long"], where), _window(p["short"], where), float(p["factor"]))
            if parse_duration(pair.short) >= parse_duration(pair.long) or pair.factor <= 0:
                raise ValueError(f"slo_windows.yaml: {where}: needs short < long and factor > 0")
            pairs.append(pair)
        alerts.append(BurnAlert(a["severity"], str(a["suffix"]), str(a["for"]), tuple(pairs)))
    return Windows(_window(data["period"], "period"), tuple(alerts))


# ----------------------------------------------------------------------------------------------- the SLOs
@dataclass(frozen=True)
class Slo:
    key: str  # value of the `slo` label
    stem: str  # alert name: KubeAPIServer<stem><suffix>
    what: str  # for summaries: "availability", "read latency"…
    requests: str  # PromQL: valid requests per second, by cluster
    errors: str  # PromQL: bad requests per second, by cluster (reads the recorded requests)
    inputs: Callable[[float], dict[str, str]]  # promtool inputs at 10 req/s with the given error ratio
    meaning: str


def _sli(ctx: Context, suffix: str, *matchers: str) -> str:
    return f"rate(apiserver_request_sli_duration_seconds{suffix}{ctx.sel(SRC, *matchers)}[5m])"


def slos(ctx: Context) -> tuple[Slo, ...]:
    by = ctx.by()
    read = (f'verb=~"{READ_VERBS}"', f'subresource!~"{STREAMING}"')
    write = (f'verb=~"{WRITE_VERBS}"',)
    read_le = [(scope, fmt_number(slo_bucket(ctx.slo_read_latency, k))) for scope, k in READ_SCOPES]
    write_le = fmt_number(slo_bucket(ctx.slo_write_latency))
    # the `or`s join bucket series of different scopes (their label sets differ), then one sum
    read_good = " or ".join(_sli(ctx, "_bucket", *read, scope, f'le="{le}"') for scope, le in read_le)
    write_good = _sli(ctx, "_bucket", *write, f'le="{write_le}"')
    recorded = lambda key: f'{SLO_REQUESTS}{{slo="{key}"}}'  # noqa: E731

    def requests(verb: str, ok: float, bad: float) -> dict[str, str]:
        return {ctx.series(SRC, "apiserver_request_total", code="200", resource="pods", scope="resource",
                           verb=verb): counter(ok),
                ctx.series(SRC, "apiserver_request_total", code="500", resource="pods", scope="resource",
                           verb=verb): counter(bad)}

    def sli(verb: str, scope: str, le: str, ratio: float) -> dict[str, str]:
        labels = {"resource": "pods", "scope": scope, "verb": verb}
        return {ctx.series(SRC, "apiserver_request_sli_duration_seconds_count", **labels): counter(10),
                ctx.series(SRC, "apiserver_request_sli_duration_seconds_bucket", le=le, **labels):
                    counter(10 * (1 - ratio))}

    return (
        Slo("availability", "ErrorBudgetBurn", "availability",
            f'sum {by} ({REQ_RATE}{{verb=~"{SLO_VERBS}"}})',
            # `or 0 *` keeps a zero while no 5xx series exists yet, so the ratios read 0 rather than nothing
            f'sum {by} ({REQ_RATE}{{verb=~"{SLO_VERBS}",code=~"5.."}} or 0 * {REQ_RATE}{{verb=~"{SLO_VERBS}"}})',
            lambda e: requests("GET", 10 * (1 - e), 10 * e),
            "requests (reads and writes, not WATCH or CONNECT) answered with a 5xx code."),
        Slo("read_latency", "ReadLatencyBudgetBurn", "read latency",
            f"sum {by} ({_sli(ctx, '_count', *read)})",
            f"{recorded('read_latency')} - ignoring (slo) sum {by} ({read_good})",
            lambda e: sli("GET", "resource", read_le[0][1], e),
            f"reads (GET, LIST) slower than their target: {read_le[0][1]}s for one object, {read_le[1][1]}s for a "
            f"namespace LIST, {read_le[2][1]}s for a cluster-wide LIST (apiserver_request_sli_duration_seconds)."),
        Slo("write_latency", "WriteLatencyBudgetBurn", "write latency",
            f"sum {by} ({_sli(ctx, '_count', *write)})",
            f"{recorded('write_latency')} - ignoring (slo) sum {by} ({write_good})",
            lambda e: sli("POST", "namespace", write_le, e),
            f"writes (POST, PUT, PATCH, DELETE, APPLY) slower than {write_le}s "
            "(apiserver_request_sli_duration_seconds)."),
    )


# ------------------------------------------------------------------------------------------ recording rules
def rules(ctx: Context, windows: Windows) -> tuple[tuple[RecordingRule, ...], tuple[RecordingRule, ...]]:
    """(base rules, slow rules): the 5m rates and the windows up to 1h, then the longer windows."""
    defined = slos(ctx)
    fast = [RecordingRule(SLO_REQUESTS, s.requests, {"slo": s.key}) for s in defined]
    fast += [RecordingRule(SLO_ERRORS, s.errors, {"slo": s.key}) for s in defined]
    fast.append(RecordingRule(ratio_name(BASE_WINDOW), f"{SLO_ERRORS} / {SLO_REQUESTS}"))
    slow: list[RecordingRule] = []
    for window in windows.all():
        if window == BASE_WINDOW:
            continue
        rule = RecordingRule(ratio_name(window), f"sum_over_time({SLO_ERRORS}[{window}])"
                                                 f" / sum_over_time({SLO_REQUESTS}[{window}])")
        (fast if parse_duration(window) <= FAST_WINDOW_MAX else slow).append(rule)
    slow += [
        RecordingRule(SLO_REQUESTS_1H, f"avg_over_time({SLO_REQUESTS}[1h])"),
        RecordingRule(SLO_ERRORS_1H, f"avg_over_time({SLO_ERRORS}[1h])"),
    ]
    if windows.period not in windows.all():
        slow.append(RecordingRule(ratio_name(windows.period), f"sum_over_time({SLO_ERRORS_1H}[{windows.period}])"
                                                              f" / sum_over_time({SLO_REQUESTS_1H}[{windows.period}])"))
    return tuple(fast), tuple(slow)


def rule_tests(ctx: Context, windows: Windows) -> tuple[RuleTest, ...]:
    """The burn-rate chain: each 5m SLI from raw series, then every window from recorded 5m rates.

    Rates are whole numbers of requests per second so every expected ratio is exact in floating point.
    """
    r = lambda key, expected, inputs, note: RuleTest(  # noqa: E731
        inputs=inputs, expr=ratio_name(BASE_WINDOW), expected=(({"slo": key}, expected),), note=note)
    req = lambda verb, code, per_second: {  # noqa: E731
        ctx.series(SRC, "apiserver_request_total", code=code, resource="pods", scope="resource",
                   verb=verb): counter(per_second)}
    availability = {**req("GET", "200", 3), **req("GET", "500", 1), **req("WATCH", "200", 4), **req("WATCH", "500", 1)}
    tests = [
        r("availability", 0.25, availability, "5xx share of reads and writes; WATCH left out"),
        RuleTest(inputs=req("GET", "200", 3), expr=SLO_ERRORS, expected=(({"slo": "availability"}, 0.0),),
                 note="zero, not absent, before the first 5xx"),
        r("read_latency", 0.25, _read_inputs(ctx), "per-scope targets; streaming GET pods/log left out"),
        r("write_latency", 0.25, _write_inputs(ctx), "writes only; CONNECT left out"),
    ]
    tests.extend(_window_tests(ctx, windows))
    return tuple(tests)


def _read_inputs(ctx: Context) -> dict[str, str]:
    """2 req/s single-object GETs, 1 namespace LIST, 1 cluster LIST; a quarter of each over its target."""
    targets = [fmt_number(slo_bucket(ctx.slo_read_latency, k)) for _, k in READ_SCOPES]
    out: dict[str, str] = {}
    for (scope, verb, rate), le in zip((("resource", "GET", 2), ("namespace", "LIST", 1), ("cluster", "LIST", 1)),
                                       targets, strict=True):
        labels = {"resource": "pods", "scope": scope, "verb": verb}
        out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_count", **labels)] = counter(rate)
        out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_bucket", le=le, **labels)] = counter(rate * 0.75)
    if targets[0] != targets[1]:  # a namespace LIST is not held to the single-object target
        labels = {"resource": "pods", "scope": "namespace", "verb": "LIST"}
        out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_bucket", le=targets[0], **labels)] = counter(0.25)
    # a streaming log read, all of it slow, must not count
    log = {"resource": "pods", "scope": "resource", "subresource": "log", "verb": "GET"}
    out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_count", **log)] = counter(5)
    out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_bucket", le=targets[0], **log)] = counter(0)
    return out


def _write_inputs(ctx: Context) -> dict[str, str]:
    le = fmt_number(slo_bucket(ctx.slo_write_latency))
    out: dict[str, str] = {}
    for verb, rate, good in (("POST", 2, 1.5), ("DELETE", 2, 1.5), ("CONNECT", 1, 0)):
        labels = {"resource": "pods", "scope": "namespace", "verb": verb}
        out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_count", **labels)] = counter(rate)
        out[ctx.series(SRC, "apiserver_request_sli_duration_seconds_bucket", le=le, **labels)] = counter(good)
    return out


def _recorded_series(ctx: Context, record: str) -> str:
    return f'{record}{{{ctx.cluster}="{TEST_CLUSTER}",slo="availability"}}'


def _window_tests(ctx: Context, windows: Windows) -> list[RuleTest]:
    """Every window over one step change: 4 req/s throughout, 1 error/s during the last `burst` minutes.

    A window of W minutes holds W+1 one-minute samples, min(W+1, burst) of them erroring, so each window length
    gives a different ratio. Evaluated past the longest window up to 6h, so those are full; longer ones read all
    the data (their ranges are checked in tests/catalog/test_kube_apiserver.py).
    """
    names = windows.all()
    minutes = [int(parse_duration(w) // 60) for w in names]
    burst = 45
    covered = max((m for m in minutes if m * 60 <= FULL_TEST_MAX), default=minutes[0])
    end = -(-(covered + burst) // 5) * 5  # a multiple of 5m, so the slow group has just run
    inputs: dict[str, float | str] = {
        _recorded_series(ctx, SLO_REQUESTS): 4,
        _recorded_series(ctx, SLO_ERRORS): f"0x{end - burst} 1x{burst + 10}",
    }
    expected = tuple(
        ({"__name__": ratio_name(w), "slo": "availability"}, min(m + 1, burst, end + 1) / (4 * (min(m, end) + 1)))
        for w, m in zip(names, minutes, strict=True)
    )
    selector = f'{{__name__=~"{ratio_name("")}({"|".join(names)})",slo="availability"}}'
    period = RuleTest(
        inputs={_recorded_series(ctx, SLO_REQUESTS): 4, _recorded_series(ctx, SLO_ERRORS): 1},
        expr=ratio_name(windows.period), expected=(({"slo": "availability"}, 0.25),), eval_time="2h",
        note=f"{windows.period} ratio from hourly averages")
    return [RuleTest(inputs=inputs, expr=selector, expected=expected, eval_time=format_duration(end * 60),
                     note=f"each window over a {burst}m burst"), period]


# ---------------------------------------------------------------------------------------------------- alerts
def alerts(ctx: Context, windows: Windows) -> tuple[Alert, ...]:
    objective = ctx.slo_objective
    budget = 1 - objective
    defined = slos(ctx)
    fastest, factor = max(((b, p.factor) for b in windows.alerts for p in b.pairs), key=lambda bf: bf[1])
    if factor * budget >= 1:  # the error ratio would have to pass 100%
        raise ctx.setting_error("slo.objective", f"expected an objective above {fmt_number(1 - 1 / factor)}: "
                                f"{PREFIX}{defined[0].stem}{fastest.suffix} fires at {fmt_number(factor)} × the error "
                                f"budget, which {fmt_number(objective)} makes ≥ 100%, so it could never fire")
    b = fmt_number(budget)
    c = ctx.cluster
    out = []
    first = defined[0]
    for slo in defined:
        for burn in windows.alerts:
            name = f"{PREFIX}{slo.stem}{burn.suffix}"
            f = lambda p: fmt_number(p.factor)  # noqa: E731
            expr = "\nor\n".join(
                f"(\n  {_window_ratio(ctx, p.long, slo.key)} / {b} > {f(p)}\nand\n"
                f"  {_window_ratio(ctx, p.short, slo.key)} / {b} > {f(p)}\n)"
                for p in burn.pairs
            )
            pairs_text = ", ".join(f"{f(p)} times over {p.long} and {p.short}" for p in burn.pairs)
            out.append(Alert(
                name=name,
                expr=expr,
                for_=burn.for_,
                severity=burn.severity,
                threshold=burn.pairs[0].factor,
                summary=f"The API server is burning its {slo.what} error budget too fast.",
                description=f"The kube-apiserver in cluster {{{{ $labels.{c} }}}} is spending its {slo.what} error "
                            f"budget {{{{ $value | humanize }}}} times faster than a {objective * 100:g}% objective "
                            f"over {windows.period} allows.",
                cases=_burn_cases(slo, burn, budget, FULL_TEST_MAX if slo is first else BRIEF_TEST_MAX),
                meaning=f"Errors of this SLI: {slo.meaning} Their share exceeds the error budget ({b}) "
                        f"{pairs_text}: at that pace the {windows.period} budget runs out before the period ends.",
                impact="Clients of the API (controllers, kubelets, operators, users) see errors or slow answers; "
                       "reconciliation slows down across the cluster." if burn.severity == "critical" else
                       "The error budget is shrinking steadily; at this pace it runs out before the period ends.",
                diagnosis=(
                    f'{{__name__=~"{ratio_name("")}.+",slo="{slo.key}"}}',
                    f'topk(10, sum by ({c}, verb, resource, code) ({REQ_RATE}{{code=~"5.."}}))',
                    f'{LAT_VERB_Q}{{quantile="0.99"}}',
                    f'{ETCD_Q}{{quantile="0.99"}}',
                ),
                mitigation=(
                    "Find which verbs and resources fail or are slow, and which clients send them "
                    "(audit log, apiserver_flowcontrol_* by flow_schema).",
                    "Check etcd latency and the apiserver's CPU and memory; slow admission webhooks add latency.",
                    "Throttle or fix a misbehaving client (API Priority and Fairness FlowSchema) and scale the "
                    "control plane if it is simply overloaded.",
                ),
            ))
    return tuple(out)


def _window_ratio(ctx: Context, window: str, slo: str) -> str:
    """The recorded ratio over `window`. Series of the slow group get a sample only every 5m, so a 1m alert
    evaluated just before the group's next run could find none within the 5m lookback and reset its `for`;
    last_over_time over two slow intervals bridges that."""
    series = f'{ratio_name(window)}{{slo="{slo}"}}'
    if parse_duration(window) <= FAST_WINDOW_MAX:
        return series
    slow = max(parse_duration(ctx.interval()), 300)
    return f"last_over_time({series}[{format_duration(2 * slow)}])"


def _burn_cases(slo: Slo, burn: BurnAlert, budget: float, fill: float) -> tuple[Case, ...]:
    """One firing case per pair, the error ratio held just above its factor; one quiet case with errors just under
    the smallest factor of the alert.

    A case lasts the longest of its windows that is at most `fill` seconds; a window longer than the data reads
    the ratio over all of it, the same constant, so each case still tests its pair's thresholds and inputs.
    """
    lasting = lambda *ws: max((w for w in ws if parse_duration(w) <= fill), key=parse_duration,  # noqa: E731
                              default=format_duration(fill))
    cases = []
    for p in burn.pairs:
        threshold = p.factor * budget  # below 1: alerts() refuses an objective that makes it 100%
        ratio = min(1.5 * threshold, (1 + threshold) / 2)
        lookback = lasting(p.long, p.short)
        cases.append(Case(slo.inputs(ratio), fires=True, labels={"slo": slo.key}, value=ratio / budget,
                          lookback=lookback, note=f"{p.long}/{p.short} pair, {lookback} of errors"))
    quiet = 0.9 * min(p.factor for p in burn.pairs) * budget
    lookback = lasting(*(p.short for p in burn.pairs))
    cases.append(Case(slo.inputs(quiet), fires=False, lookback=lookback, note=f"just under the budget for {lookback}"))
    return tuple(cases)
