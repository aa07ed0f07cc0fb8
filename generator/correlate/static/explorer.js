// Stereo correlation explorer: reads the service's own API and draws with inline SVG. No build step, no CDN.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const TOKEN_KEY = "stereo.token";
  const LEVELS = ["cluster", "namespace", "pod"];
  const state = { meta: null, byName: {}, result: null, rows: [], chosen: "", ticked: [], gen: 0, heatGen: 0,
                  pairGen: 0 };

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

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

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

  // ------------------------------------------------------------------ units

  function plain(v) {
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return String(Number(v.toPrecision(2)));
  }

  function scaled(v, base, prefixes, suffix) {
    let i = 0;
    while (Math.abs(v) >= base && i < prefixes.length - 1) { v /= base; i++; }
    return plain(v) + " " + prefixes[i] + suffix;
  }

  function fmt(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    const si = ["", "k", "M", "G", "T", "P"];
    switch (unit) {
      case "percentunit": return plain(v * 100) + "%";
      case "bytes": return scaled(v, 1024, ["", "Ki", "Mi", "Gi", "Ti", "Pi"], "B");
      case "Bps": return scaled(v, 1000, si, "B/s");
      case "ops": return scaled(v, 1000, si, "ops/s");
      case "reqps": return scaled(v, 1000, si, "req/s");
      case "pps": return scaled(v, 1000, si, "p/s");
      case "cores": return plain(v) + " cores";
      case "s": {
        const a = Math.abs(v);
        if (a === 0) return "0 s";
        if (a < 1e-3) return plain(v * 1e6) + " µs";
        if (a < 1) return plain(v * 1e3) + " ms";
        if (a < 120) return plain(v) + " s";
        if (a < 7200) return plain(v / 60) + " min";
        return plain(v / 3600) + " h";
      }
      default: return scaled(v, 1000, si, "").trim();
    }
  }

  const rho = (v) => (v === null || v === undefined ? "–" : v.toFixed(2));
  const q = (v) => (v === null || v === undefined ? "–" : v < 1e-4 ? "<1e-4" : v.toPrecision(2));

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const first = Math.floor(lo / step) * step;
    const ticks = [];
    for (let t = first; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    if (ticks[ticks.length - 1] < hi) ticks.push(Number((first + ticks.length * step).toPrecision(12)));
    return ticks;
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
    state.rows = r.suggestions.concat(r.not_significant);
    state.chosen = state.rows.length ? state.rows[0].name : "";
    state.ticked = state.rows.slice(0, 5).map((row) => row.name);
    const sig = r.suggestions.length;
    setStatus(sig + " significant of " + state.rows.length + " tested · window " + r.window + " at " + r.step +
              " · α " + r.alpha + " · scope " + (r.selector || "everything"), "");
    $("related-meta").textContent = "ρ (Spearman), n points, q (false discovery rate)";
    const missing = r.missing.map((m) => (state.byName[m.name] || { title: m.name }).title + " (" + m.reason + ")");
    $("missing").replaceChildren(...(missing.length ? [el("details", { class: "note" },
      el("summary", {}, missing.length + " candidate" + (missing.length > 1 ? "s" : "") + " not measured"),
      missing.join("; ") + ".")] : []));
    renderRelated();
    renderHeatmap();
    renderPair();
  }

  // the whole-window finding of the pair (its object scope), and the same object's findings per regime
  function findingsOf(name) {
    const target = state.result.target;
    const mine = state.result.findings.filter((f) => (f.a === target && f.b === name) || (f.b === target && f.a === name));
    const whole = mine.find((f) => f.phase === null);
    const key = whole ? JSON.stringify(whole.scope) : null;
    const phases = mine.filter((f) => f.phase !== null && (key === null || JSON.stringify(f.scope) === key));
    return { whole, phases };
  }

  function renderRelated() {
    const box = $("related");
    box.className = "box";
    if (!state.rows.length) {
      box.replaceChildren(el("p", { class: "empty" }, "Nothing could be compared with this target here."));
      return;
    }
    const head = el("tr", {}, el("th", { title: "In the heatmap" }, "map"), el("th", {}, "Signal"),
      el("th", { class: "num" }, "ρ"), el("th", { class: "num" }, "n"), el("th", { class: "num" }, "q"),
      el("th", { class: "wide" }, "tier"), el("th", { class: "regimes" }, "Regimes"), el("th", { class: "wide" }, "Grafana"));
    const body = el("tbody");
    for (const row of state.rows) {
      const { phases } = findingsOf(row.name);
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
      const tr = el("tr", { "data-name": row.name, class: (row.significant ? "" : "weak") + (row.name === state.chosen ? " chosen" : "") },
        el("td", {}, tick),
        el("td", {}, row.title, el("span", { class: "name" }, row.name), el("span", { class: "inline-regimes" }, ...badges())),
        el("td", { class: "num", title: "p " + q(row.pvalue) + ", critical |ρ| " + rho(row.critical) }, rho(row.rho)),
        el("td", { class: "num", title: row.n_eff ? "effective n " + row.n_eff : null }, String(row.n)),
        el("td", { class: "num" }, q(row.qvalue)),
        el("td", { class: "wide" }, row.tier),
        regimes,
        el("td", { class: "wide" }, el("a", { href: row.url, target: "_blank", rel: "noopener" }, "pair"), " · ",
           el("a", { href: dashboardURL(meta), target: "_blank", rel: "noopener" }, row.home)));
      tr.addEventListener("click", (ev) => {
        if (ev.target.closest("a, input")) return;
        state.chosen = row.name;
        for (const other of body.children) other.classList.toggle("chosen", other === tr);
        renderPair();
      });
      body.append(tr);
    }
    box.replaceChildren(el("table", { id: "related-table" }, el("thead", {}, head), body));
  }

  function dashboardURL(meta) {
    if (!meta.dashboard) return "#";
    const p = new URLSearchParams();
    for (const level of LEVELS) if ($(level).value) p.set("var-" + level, $(level).value);
    if (state.result) { p.set("from", state.result.start * 1000); p.set("to", state.result.end * 1000); }
    return meta.dashboard + "?" + p.toString();
  }

  // ------------------------------------------------------------------ heatmap

  function colour(r) {
    if (r === null || r === undefined) return "#eceff3";
    const t = Math.min(1, Math.abs(r));
    const [R, G, B] = r >= 0 ? [192, 57, 43] : [33, 102, 172];
    const mix = (c) => Math.round(255 + (c - 255) * t);
    return "rgb(" + mix(R) + "," + mix(G) + "," + mix(B) + ")";
  }

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
    const cell = {};
    for (const row of rows) cell[row.a + "|" + row.b] = row;
    const n = names.length, size = 40, left = 26, top = 20;
    const g = svg("svg", { id: "heatmap-svg", viewBox: "0 0 " + (left + n * size + 2) + " " + (top + n * size + 2),
                           width: left + n * size + 2, role: "img", "aria-label": "heatmap of ρ" });
    names.forEach((a, i) => {
      g.append(svg("text", { x: left - 6, y: top + i * size + size / 2 + 4, "text-anchor": "end" }, String(i + 1)));
      g.append(svg("text", { x: left + i * size + size / 2, y: top - 6, "text-anchor": "middle" }, String(i + 1)));
      names.forEach((b, j) => {
        const c = cell[a + "|" + b] || {};
        const rect = svg("rect", { class: "cell", x: left + j * size, y: top + i * size, width: size - 2, height: size - 2,
                                   fill: colour(c.rho), "data-rho": c.rho === null || c.rho === undefined ? "" : c.rho,
                                   stroke: c.significant ? "#1c2330" : "none", "stroke-width": 1.5 });
        rect.append(svg("title", {}, a + " ↔ " + b + ": ρ " + rho(c.rho) + (c.n ? ", n " + c.n : "") +
                                     (c.significant ? ", significant" : "")));
        g.append(rect);
        g.append(svg("text", { x: left + j * size + size / 2 - 1, y: top + i * size + size / 2 + 3, "text-anchor": "middle",
                               fill: c.rho !== null && Math.abs(c.rho) > 0.6 ? "#fff" : "#1c2330" }, rho(c.rho)));
      });
    });
    const legend = el("ol", { class: "legend heat-legend" });
    for (const name of names) legend.append(el("li", {}, (state.byName[name] || { title: name }).title));
    const box = $("heatmap");
    box.className = "box";
    box.replaceChildren(g, legend, el("p", { class: "note" }, "Outlined: significant at α " + state.result.alpha + "."));
  }

  // ------------------------------------------------------------------ pair chart

  async function renderPair() {
    const gen = ++state.pairGen;
    state.drawn = null;
    const target = state.result.target, partner = state.chosen;
    const box = $("pair");
    if (!partner) { empty(box, "No related signal to chart."); return; }
    const row = state.rows.find((x) => x.name === partner);
    const A = state.byName[target], B = state.byName[partner];
    $("pair-title").textContent = A.title + " ↔ " + B.title + " · ρ " + rho(row.rho);
    $("pair-links").replaceChildren(
      el("a", { href: row.url, target: "_blank", rel: "noopener" }, "Grafana pair view"),
      el("a", { href: dashboardURL(A), target: "_blank", rel: "noopener" }, A.home + " dashboard"),
      ...(B.home !== A.home ? [el("a", { href: dashboardURL(B), target: "_blank", rel: "noopener" }, B.home + " dashboard")] : []));
    const { whole, phases } = findingsOf(partner);
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
    box.replaceChildren(...drawPair(data, phases, box.clientWidth || 600));
  }

  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      const box = $("pair");
      if (state.drawn && box.querySelector("#pair-svg")) box.replaceChildren(...drawPair(state.drawn.data,
        state.drawn.phases, box.clientWidth || 600));
    }, 150);
  });

  function drawPair(data, phases, width) {
    const W = Math.max(300, Math.min(width, 900)), H = W < 500 ? 230 : 290;
    const m = { l: 62, r: 62, t: 16, b: 26 };
    const x0 = data.start, x1 = data.start + (data.points - 1) * data.step;
    const x = (t) => m.l + ((t - x0) / Math.max(1, x1 - x0)) * (W - m.l - m.r);
    const g = svg("svg", { id: "pair-svg", viewBox: "0 0 " + W + " " + H, width: W, role: "img",
                           "aria-label": "both series over the window" });
    for (const f of phases) {
      const a = Math.max(x(f.window.start), m.l), b = Math.min(x(f.window.end), W - m.r);
      g.append(svg("rect", { class: "phase " + f.phase, x: a, y: m.t, width: Math.max(0, b - a), height: H - m.t - m.b,
                             fill: f.phase === "congested" ? "#f7d9d9" : "#dff0df", opacity: 0.7 }));
      g.append(svg("text", { x: a + 4, y: m.t + 11, fill: "#5d6878" }, f.phase + (f.change ? " · " + f.change : "")));
    }
    const legend = el("div", { class: "legend" });
    const sides = ["a", "b"];
    data.signals.forEach((s, side) => {
      const all = s.series.flatMap((row) => row.values.filter((v) => v !== null));
      const meta = state.byName[s.signal];
      legend.append(el("span", {}, el("span", { class: "swatch " + sides[side] }),
        meta.title + " (" + (side ? "right" : "left") + " axis" + (s.series.length > 1 ? ", " + s.series.length + " series" : "") + ")"));
      if (!all.length) { legend.append(el("span", { class: "error" }, s.signal + ": " + (s.reason || "no data"))); return; }
      const ticks = niceTicks(Math.min(...all), Math.max(...all), 5);
      const lo = ticks[0], hi = ticks[ticks.length - 1];
      const y = (v) => H - m.b - ((v - lo) / (hi - lo)) * (H - m.t - m.b);
      for (const t of ticks) {
        if (side === 0) g.append(svg("line", { class: "grid-line", x1: m.l, x2: W - m.r, y1: y(t), y2: y(t) }));
        g.append(svg("text", { x: side ? W - m.r + 4 : m.l - 4, y: y(t) + 4, "text-anchor": side ? "start" : "end",
                               fill: side ? "#b23c0b" : "#17609a" }, fmt(t, s.unit)));
      }
      s.series.forEach((row, k) => {
        let d = "", pen = "M", count = 0;
        row.values.forEach((v, i) => {
          if (v === null) { pen = "M"; return; }
          d += pen + x(data.start + i * data.step).toFixed(1) + " " + y(v).toFixed(1);
          pen = "L"; count++;
        });
        const path = svg("path", { class: "series " + sides[side], d, fill: "none", "stroke-width": k ? 1 : 1.6,
                                   stroke: side ? "#d9480f" : "#1f77b4", opacity: k ? 0.45 : 1, "data-points": count });
        path.append(svg("title", {}, s.signal + " " + JSON.stringify(row.labels)));
        g.append(path);
      });
    });
    g.append(svg("line", { class: "axis", x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, stroke: "#9aa5b5" }));
    const span = x1 - x0, room = Math.max(2, Math.floor((W - m.l - m.r) / 80));
    const step = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800]
      .find((s) => span / s <= room) || 604800;
    for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
      const d = new Date(t * 1000);
      const label = step >= 86400 ? d.toLocaleDateString([], { month: "short", day: "numeric" }) :
        d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      g.append(svg("line", { x1: x(t), x2: x(t), y1: H - m.b, y2: H - m.b + 4, stroke: "#9aa5b5" }));
      g.append(svg("text", { x: x(t), y: H - m.b + 16, "text-anchor": "middle" }, label));
    }
    for (const f of phases) legend.append(el("span", {}, el("span", { class: "swatch " + f.phase }), f.phase + " phase"));
    return [legend, g];
  }

  start();
})();
