// Stereo correlation explorer: reads the service's own API; draw.js draws. No build step, nothing from a CDN.
import { el, heatmap, pairChart, q, rho } from "./draw.js";

{
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "stereo.token";
  const LEVELS = ["cluster", "namespace", "pod"];
  const state = { meta: null, byName: {}, result: null, rows: [], listed: 0, chosen: "", ticked: [], gen: 0, heatGen: 0,
                  pairGen: 0, end: "" };

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  // ------------------------------------------------------------------ API access

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  function explain(status, msg) {
    msg = msg || "no details";
    if (status === 503) return "Prometheus is unreachable: " + msg;
    if (status === 504) return "Prometheus did not answer in time: " + msg;
    if (status === 502) return "Prometheus answered with an error: " + msg;
    if (status === 422) return "Cannot measure this target here: " + msg;
    if (status >= 400 && status < 500) return "Bad request (" + status + "): " + msg;
    return "The service failed (" + status + "): " + msg;
  }

  async function api(path, params) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    // a link's `end` pins every windowed request to the same past window (an incident, a shared link)
    if (state.end && params && "window" in params) url.searchParams.set("end", state.end);
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    let r;
    try {
      r = await fetch(url, { headers });
    } catch (e) {
      throw new ApiError(0, "The Stereo service cannot be reached (" + e.message + ").");
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) {
      showLogin(token() ? "The token was refused." : "");
      throw new ApiError(401, "Sign in to use the explorer.");
    }
    if (!r.ok) throw new ApiError(r.status, explain(r.status, body && body.error));
    return body;
  }

  // ------------------------------------------------------------------ small helpers

  function setStatus(text, kind) {
    const s = $("status");
    s.textContent = text;
    s.className = "status" + (kind ? " " + kind : "");
  }

  function loading(box, text) {
    box.className = "box loading";
    box.replaceChildren(text);
  }

  function failed(box, err) {
    box.className = "box";
    box.replaceChildren(el("p", { class: "error", role: "alert" }, err.message));
  }

  function empty(box, text) {
    box.className = "box";
    box.replaceChildren(el("p", { class: "empty" }, text));
  }

  const esc = (v) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const labelOf = (level) => (level === "cluster" ? state.meta.cluster_label : level);

  function selector(upTo, extra) {
    const seen = new Set();
    const parts = [];
    LEVELS.slice(0, upTo === undefined ? LEVELS.length : upTo).forEach((level) => {
      const v = $(level).value;
      if (v) { parts.push(labelOf(level) + '="' + esc(v) + '"'); seen.add(labelOf(level)); }
    });
    for (const [k, v] of Object.entries(extra || {})) {
      if (!seen.has(k)) parts.push(k + '="' + esc(v) + '"');
    }
    return parts.join(",");
  }

  // ------------------------------------------------------------------ login

  function showLogin(msg) {
    $("main").hidden = true;
    $("login").hidden = false;
    $("logout").hidden = true;
    $("login-error").textContent = msg;
    $("login-error").hidden = !msg;
    $("token").focus();
  }

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(""); });
  $("controls").addEventListener("submit", (ev) => ev.preventDefault());

  // ------------------------------------------------------------------ start and scope pickers

  async function start() {
    $("login").hidden = true;
    $("main").hidden = false;
    setStatus("Loading signals…", "loading");
    let meta;
    try {
      meta = await api("/api/v1/signals");
    } catch (e) {
      if (e.status !== 401) setStatus(e.message, "error");
      return;
    }
    $("logout").hidden = !token();
    state.meta = meta;
    state.byName = Object.fromEntries(meta.signals.map((s) => [s.name, s]));
    const target = $("target");
    const groups = {};
    target.replaceChildren(el("option", { value: "" }, "Choose a signal…"));
    for (const s of meta.signals) {
      if (!groups[s.home]) target.append(groups[s.home] = el("optgroup", { label: s.home }));
      groups[s.home].append(el("option", { value: s.name }, s.title + " — " + s.name));
    }
    $("cluster-name").textContent = meta.cluster_label === "cluster" ? "Cluster" : meta.cluster_label;
    const preset = new URLSearchParams(location.search);
    if (preset.get("window")) $("window").value = preset.get("window");
    state.end = preset.get("end") || "";
    const wanted = preset.get("target");
    if (wanted && state.byName[wanted]) {
      target.value = wanted;
      const values = Object.fromEntries(LEVELS.map((l) => [l, preset.get(l) || ""]));
      changed(0, values);
    } else {
      for (const level of LEVELS) fillLevel(level, [], "", "(choose a target)");
      setStatus(wanted ? "Unknown signal " + JSON.stringify(wanted) + ": choose a target signal." :
        "Choose a target signal.", wanted ? "error" : "");
    }
  }

  function fillLevel(level, values, keep, note) {
    const s = $(level);
    s.replaceChildren(el("option", { value: "" }, note || "(all)"));
    for (const v of values) s.append(el("option", { value: v }, v));
    if (keep && !values.includes(keep)) s.append(el("option", { value: keep }, keep));
    s.value = keep || "";
  }

  // The levels from `from` on are reloaded (each one's values depend on the levels above), then measured.
  async function changed(from, preset) {
    const gen = ++state.gen;
    if (preset) for (const level of LEVELS) fillLevel(level, [], preset[level], "loading…");
    measure(gen);
    const sig = state.byName[$("target").value];
    if (!sig) return;
    for (let i = from; i < LEVELS.length; i++) {
      const level = LEVELS[i];
      const keep = preset ? preset[level] : (i === from ? $(level).value : "");
      if (!sig.labels.includes(labelOf(level))) { fillLevel(level, [], "", "(not split by " + labelOf(level) + ")"); continue; }
      fillLevel(level, [], keep, "loading…");
      $(level).disabled = true;
      try {
        const r = await api("/api/v1/labels", { label: labelOf(level), target: sig.name, selector: selector(i),
                                                window: $("window").value });
        if (gen !== state.gen) return;
        fillLevel(level, r.values, keep, r.complete ? "(all)" : "(all — " + r.note + ")");
      } catch (e) {
        if (gen !== state.gen) return;
        // the levels below depend on this one: they stay unfilled, their preset values kept
        LEVELS.slice(i).forEach((l) => {
          fillLevel(l, [], preset ? preset[l] : $(l).value, "(all — values unavailable)");
          $(l).disabled = false;
          $(l).title = e.message;
        });
        return;
      } finally {
        $(level).disabled = false;
      }
    }
  }

  $("target").addEventListener("change", () => changed(0));
  $("window").addEventListener("change", () => changed(0));
  LEVELS.forEach((level, i) => $(level).addEventListener("change", () => {
    for (const below of LEVELS.slice(i + 1)) $(below).value = "";
    changed(i + 1);
  }));

  function updateURL() {
    const p = new URLSearchParams();
    p.set("target", $("target").value);
    for (const level of LEVELS) if ($(level).value) p.set(level, $(level).value);
    p.set("window", $("window").value);
    if (state.end) p.set("end", state.end);
    history.replaceState(null, "", "?" + p.toString());
  }

  // ------------------------------------------------------------------ related signals

  async function measure(gen) {
    const target = $("target").value;
    if (!target) return;
    updateURL();
    const title = state.byName[target].title;
    setStatus("Measuring what moves with " + title + "…", "loading");
    loading($("related"), "Measuring correlations…");
    loading($("heatmap"), "Waiting for the related signals…");
    loading($("pair"), "Waiting for the related signals…");
    $("missing").replaceChildren();
    $("related-meta").textContent = "";
    $("pair-links").replaceChildren();
    $("pair-title").textContent = "";
    let r;
    try {
      r = await api("/api/v1/suggestions", { target, selector: selector(), window: $("window").value, k: 25 });
    } catch (e) {
      if (gen !== state.gen) return;
      setStatus(e.message, "error");
      failed($("related"), e);
      empty($("heatmap"), "No measurement.");
      empty($("pair"), "No measurement.");
      return;
    }
    if (gen !== state.gen) return;
    state.result = r;
    const rows = r.suggestions.concat(r.not_significant);
    const listed = rows.filter(strong);
    state.rows = listed.concat(rows.filter((row) => !strong(row)));
    state.listed = listed.length;
    state.chosen = listed.length ? listed[0].name : "";
    state.ticked = state.rows.slice(0, 5).map((row) => row.name);
    const sig = r.suggestions.length;
    const own = r.missing.find((m) => m.name === target);
    const until = state.end ? " ending " + new Date(r.end * 1000).toISOString().replace(".000Z", "Z") : "";
    const scope = " · window " + r.window + until + " at " + r.step + " · α " + r.alpha + " · scope " + (r.selector || "everything");
    if (own) setStatus(title + ": " + own.reason + " in this scope and window, nothing to compare" + scope, "error");
    else {
      const expected = listed.filter((row) => row.expected).length;
      setStatus(sig + " significant of " + state.rows.length + " tested, " + listed.length + " at |ρ| ≥ " +
        state.meta.min_rho + (expected ? " (" + expected + " expected)" : "") + scope, "");
    }
    $("related-meta").textContent = "ρ (Spearman), n points, q (false discovery rate)";
    const missing = r.missing.map((m) => (state.byName[m.name] || { title: m.name }).title + " (" + m.reason + ")");
    $("missing").replaceChildren(...(missing.length ? [el("details", { class: "note" },
      el("summary", {}, missing.length + " candidate" + (missing.length > 1 ? "s" : "") + " not measured"),
      missing.join("; ") + ".")] : []));
    renderRelated(gen, !own);
    renderHeatmap();
    renderPair();
  }

  // the whole-window finding of the row's pair on the row's object (the scope its labels name; else the
  // strongest object), and the same object's findings per regime
  function findingsOf(row) {
    const target = state.result.target, name = row.name;
    const mine = state.result.findings.filter((f) => (f.a === target && f.b === name) || (f.b === target && f.a === name));
    const labels = Object.assign({}, row.target_labels || {}, row.labels || {});
    const fits = (f) => Object.entries(f.scope).every(([k, v]) => labels[k] === v);
    const wholes = mine.filter((f) => f.phase === null);
    const whole = wholes.find(fits) || wholes[0];
    const key = whole ? JSON.stringify(whole.scope) : null;
    const phases = mine.filter((f) => f.phase !== null && (key === null || JSON.stringify(f.scope) === key));
    return { whole, phases };
  }

  // the object a finding is about, in a word: its pod (or instance, node, ...), else its last label's value
  function objectName(scope) {
    for (const k of ["pod", "instance", "node", "workload", "namespace"]) if (scope[k]) return scope[k];
    const values = Object.values(scope);
    return values.length ? values[values.length - 1] : "the object";
  }

  // what a person needs to read a row right: a pair that is the same traffic twice (the row says so, weak or
  // not), an object there for part of the window (so n is low; from its finding)
  function tags(row, whole) {
    const out = [];
    if (row.expected) out.push(el("span", { class: "tag expected", title: "Expected: both are volumes of the same " +
      "traffic on one object (e.g. requests and the bytes they bring), so they move together by nature; listed " +
      "after the unexpected pairs." }, "expected: same traffic"));
    if (whole && whole.partial) out.push(el("span", { class: "tag partial", title: "n counts only the points where " +
      objectName(whole.scope) + " was there: " + whole.present + " of the window's " + whole.points + "." },
      objectName(whole.scope) + " present " + whole.present + "/" + whole.points + " points — replaced, created or " +
      "deleted during the window"));
    return out;
  }

  // listed as related: significant, and |ρ| at or above the floor (min_rho) and the pair's critical value
  function strong(row) {
    return row.significant && row.rho !== null && Math.abs(row.rho) >= Math.max(state.meta.min_rho, row.critical || 0);
  }

  // `measured`: the target had data, so derived partners (left out of the list) are worth looking up when
  // nothing unexpected is listed
  function renderRelated(gen, measured) {
    const box = $("related");
    box.className = "box";
    const listed = state.rows.slice(0, state.listed), weaker = state.rows.slice(state.listed);
    const floor = "|ρ| ≥ " + state.meta.min_rho;
    const onlyExpected = listed.length > 0 && listed.every((row) => row.expected);
    const summary = el("p", { class: "empty", id: "related-summary" },
      !state.rows.length ? "Nothing could be compared with this target here." :
        !listed.length ? "No signal moves with this target here at " + floor + " (significant)." :
          onlyExpected ? "Only expected pairs move with this target here (the same traffic measured twice): " +
            "nothing unexpected at " + floor + "." : "");
    if (measured && (!listed.length || onlyExpected)) derivedNote(gen, summary, !state.rows.length);
    if (!state.rows.length) {
      box.replaceChildren(summary);
      return;
    }
    box.replaceChildren(
      ...(listed.length && !onlyExpected ? [] : [summary]),
      ...(listed.length ? [relatedTable("related-table", listed)] : []),
      ...(weaker.length ? [el("details", { class: "note", id: "weaker" },
        el("summary", {}, weaker.length + " weaker pair" + (weaker.length > 1 ? "s" : "") +
           " (not significant, or |ρ| below " + state.meta.min_rho + ")"),
        relatedTable("weaker-table", weaker))] : []));
  }

  // Derived partners (the same data by definition) are not in the suggestions: when nothing unexpected is
  // listed, the target's findings with derived ones say whether only such partners move with it.
  async function derivedNote(gen, summary, nothing) {
    let found;
    try {
      found = await api("/api/v1/findings", { targets: state.result.target, selector: selector(),
                                              window: $("window").value, derived: "true" });
    } catch (e) {
      return; // the list already says what was measured; this is only a hint
    }
    if (gen !== state.gen) return;
    const target = state.result.target;
    const names = [...new Set(found.filter((f) => f.derived && f.significant && f.phase === null && f.rho !== null &&
      Math.abs(f.rho) >= Math.max(state.meta.min_rho, f.critical || 0) && (f.a === target || f.b === target))
      .map((f) => (f.a === target ? f.b : f.a)))];
    if (!names.length) return;
    const list = names.map((n) => title(n)).join(", ");
    summary.dataset.derived = names.join(",");
    summary.textContent = nothing ? "Only derived signals move with this target here — the same data by definition, " +
      "so they are left out: " + list + "." : summary.textContent + " Derived signals (the same data by definition) " +
      "are left out: " + list + ".";
  }

  function relatedTable(id, rows) {
    const head = el("tr", {}, el("th", { title: "In the heatmap" }, "map"), el("th", {}, "Signal"),
      el("th", { class: "num" }, "ρ"), el("th", { class: "num" }, "n"), el("th", { class: "num" }, "q"),
      el("th", { class: "wide" }, "tier"), el("th", { class: "regimes" }, "Regimes"), el("th", { class: "wide" }, "Grafana"));
    const body = el("tbody");
    for (const row of rows) {
      const { whole, phases } = findingsOf(row);
      const tick = el("input", { type: "checkbox", "aria-label": "show " + row.name + " in the heatmap" });
      tick.checked = state.ticked.includes(row.name);
      tick.addEventListener("change", () => {
        state.ticked = state.rows.map((x) => x.name).filter((n) => n === row.name ? tick.checked : state.ticked.includes(n));
        renderHeatmap();
      });
      const badges = () => phases.flatMap((f) => [
        el("span", { class: "badge", title: f.phase + " phase, n " + f.n + ", q " + q(f.q) }, f.phase + " ρ " + rho(f.rho)),
        ...(f.change ? [el("span", { class: "badge change", title: "relation " + f.change + " in this phase" }, f.change)] : [])]);
      const regimes = el("td", { class: "regimes" }, ...(phases.length ? badges() : ["—"]));
      const meta = state.byName[row.name] || {};
      const tr = el("tr", { "data-name": row.name, class: (strong(row) ? "" : "weak") + (row.name === state.chosen ? " chosen" : "") },
        el("td", {}, tick),
        el("td", {}, row.title, el("span", { class: "name" }, row.name), ...tags(row, whole),
           el("span", { class: "inline-regimes" }, ...badges())),
        el("td", { class: "num", title: "p " + q(row.pvalue) + ", critical |ρ| " + rho(row.critical) }, rho(row.rho)),
        el("td", { class: "num", title: row.n_eff ? "effective n " + row.n_eff : null }, String(row.n)),
        el("td", { class: "num" }, q(row.qvalue)),
        el("td", { class: "wide" }, row.tier),
        regimes,
        el("td", { class: "wide" }, el("a", { href: row.url, target: "_blank", rel: "noopener" }, "pair"), " · ",
           el("a", { href: dashboardURL(meta), target: "_blank", rel: "noopener" }, row.home)));
      const choose = () => {
        state.chosen = row.name;
        for (const other of $("related").querySelectorAll("tbody tr")) other.classList.toggle("chosen", other === tr);
        renderPair();
      };
      tr.tabIndex = 0;
      tr.addEventListener("click", (ev) => { if (!ev.target.closest("a, input")) choose(); });
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === tr) choose(); });
      body.append(tr);
    }
    return el("table", { id }, el("thead", {}, head), body);
  }

  function dashboardURL(meta) {
    if (!meta.dashboard) return "#";
    const p = new URLSearchParams();
    for (const level of LEVELS) if ($(level).value) p.set("var-" + level, $(level).value);
    if (state.result) { p.set("from", state.result.start * 1000); p.set("to", state.result.end * 1000); }
    return meta.dashboard + "?" + p.toString();
  }

  // ------------------------------------------------------------------ heatmap

  async function renderHeatmap() {
    const gen = ++state.heatGen;
    const names = [state.result.target, ...state.ticked];
    if (names.length < 2) { empty($("heatmap"), "Tick signals in the list to compare them."); return; }
    loading($("heatmap"), "Measuring " + names.length + " signals pairwise…");
    let rows;
    try {
      rows = await api("/api/v1/matrix", { signals: names.join(","), selector: selector(), window: $("window").value });
    } catch (e) {
      if (gen === state.heatGen) failed($("heatmap"), e);
      return;
    }
    if (gen !== state.heatGen) return;
    const box = $("heatmap");
    box.className = "box";
    box.replaceChildren(...heatmap(names, rows, title, state.result.alpha));
  }

  // ------------------------------------------------------------------ pair chart

  async function renderPair() {
    const gen = ++state.pairGen;
    state.drawn = null;
    const target = state.result.target, partner = state.chosen;
    const box = $("pair");
    if (!partner) {
      empty(box, state.rows.length ? "No signal at |ρ| ≥ " + state.meta.min_rho + ": choose a weaker pair to chart it." :
        "No related signal to chart.");
      return;
    }
    const row = state.rows.find((x) => x.name === partner);
    const A = state.byName[target], B = state.byName[partner];
    $("pair-title").textContent = A.title + " ↔ " + B.title + " · ρ " + rho(row.rho);
    $("pair-links").replaceChildren(
      el("a", { href: row.url, target: "_blank", rel: "noopener" }, "Grafana pair view"),
      el("a", { href: dashboardURL(A), target: "_blank", rel: "noopener" }, A.home + " dashboard"),
      ...(B.home !== A.home ? [el("a", { href: dashboardURL(B), target: "_blank", rel: "noopener" }, B.home + " dashboard")] : []));
    const { whole, phases } = findingsOf(row);
    loading(box, "Loading both series…");
    let data;
    try {
      data = await api("/api/v1/series", { signals: target + "," + partner, window: $("window").value,
                                           selector: selector(undefined, whole ? whole.scope : {}) });
    } catch (e) {
      if (gen === state.pairGen) failed(box, e);
      return;
    }
    if (gen !== state.pairGen) return;
    state.drawn = { data, phases };
    box.className = "box";
    box.replaceChildren(...pairChart(data, phases, box.clientWidth || 600));
  }

  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      const box = $("pair");
      if (state.drawn && box.querySelector("#pair-svg")) box.replaceChildren(...pairChart(state.drawn.data,
        state.drawn.phases, box.clientWidth || 600));
    }, 150);
  });

  const title = (name) => (state.byName[name] || { title: name }).title;

  start();
}
