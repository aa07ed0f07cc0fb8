"""Links: the drop-down of every Stereo dashboard, and the data links that open the pair view."""

from __future__ import annotations

from typing import Any

import grafanalib.core as G

from generator.correlations import Pair
from generator.layout import Partner
from generator.render.dashboards.lookup import Lookup

TAG = "stereo"
PAIR_KEY = "pair"
NODE_PODS_KEY = "node-pods"
# what a link carries along: the time range and every variable of the dashboard it leaves
KEEP = "${__url_time_range}&${__all_variables}"


def dropdown() -> G.DashboardLink:
    return G.DashboardLink(title="Stereo dashboards", type="dashboards", tags=[TAG], asDropdown=True,
                           keepTime=True, includeVars=True, icon="dashboard", tooltip="Every Stereo dashboard")


def back(variable: str, title: str) -> G.DashboardLink:
    """A link from the pair view to the home dashboard held in the hidden variable `variable`."""
    return G.DashboardLink(title=title, type="link", uri=f"/d/${{{variable}}}", keepTime=True, includeVars=True,
                           icon="dashboard", tooltip="The dashboard this signal lives on")


def strength(pair: Pair) -> str:
    if pair.source == "prior" or pair.rho is None:
        return "prior, not measured"
    return f"ρ = {pair.rho:+.2f}, n = {pair.n}"


def pair_url(lk: Lookup, a: str, b: str) -> str:
    uid = lk.uid(PAIR_KEY)
    return (f"/d/{uid}/{PAIR_KEY}?var-a={a}&var-b={b}&var-a_home={lk.uid(lk.home(a))}"
            f"&var-b_home={lk.uid(lk.home(b))}&{KEEP}")


def partner_link(lk: Lookup, partner: Partner) -> dict[str, Any]:
    """One data link per partner: the pair view with this panel's signal as `a` and the partner as `b`."""
    title = lk.signals[partner.signal].title
    url = pair_url(lk, partner.own, partner.signal)
    return {"title": f"Compare with {title} ({strength(partner.pair)})", "url": url}


def partner_note(lk: Lookup, partner: Partner) -> str:
    """The sentence a panel's description gives each partner."""
    title = lk.signals[partner.signal].title
    return f"Moves with {title} on {lk.title(partner.home)}: {partner.pair.evidence()}."


def dashboard_link(lk: Lookup, key: str, title: str) -> dict[str, Any]:
    return {"title": title, "url": f"/d/{lk.uid(key)}?{KEEP}"}


def node_pods_link(lk: Lookup) -> dict[str, Any]:
    """From a series split by node to the pods on that node."""
    return {"title": "Pods on ${__field.labels.node}",
            "url": f"/d/{lk.uid(NODE_PODS_KEY)}/{NODE_PODS_KEY}?var-node=${{__field.labels.node}}"
                   "&${__url_time_range}&var-cluster=${cluster}&var-datasource=${datasource}"}
