// Drawing for the correlation explorer: units, axes, the heatmap and the pair chart as inline SVG.
const SVGNS = "http://www.w3.org/2000/svg";

export function el(tag, attrs, ...children) {
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

// units, as Grafana names them

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

export function fmt(v, unit) {
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

export const rho = (v) => (v === null || v === undefined ? "–" : v.toFixed(2));
export const q = (v) => (v === null || v === undefined ? "–" : v < 1e-4 ? "<1e-4" : v.toPrecision(2));

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

function colour(r) {
  if (r === null || r === undefined) return "#eceff3";
  const t = Math.min(1, Math.abs(r));
  const [R, G, B] = r >= 0 ? [192, 57, 43] : [33, 102, 172];
  const mix = (c) => Math.round(255 + (c - 255) * t);
  return "rgb(" + mix(R) + "," + mix(G) + "," + mix(B) + ")";
}

// The heatmap of `names` from the matrix rows: [svg, numbered legend, note].
export function heatmap(names, rows, title, alpha) {
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
  for (const name of names) legend.append(el("li", {}, title(name)));
  return [g, legend, el("p", { class: "note" }, "Outlined: significant at α " + alpha + ".")];
}

// Both series over the window on two axes, regimes shaded: [legend, svg].
export function pairChart(data, phases, width) {
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
    legend.append(el("span", {}, el("span", { class: "swatch " + sides[side] }),
      s.title + " (" + (side ? "right" : "left") + " axis" + (s.series.length > 1 ? ", " + s.series.length + " series" : "") + ")"));
    if (!all.length) { legend.append(el("span", { class: "error" }, s.signal + ": " + (s.reason || "no data"))); return; }
    const ticks = niceTicks(all.reduce((a, b) => Math.min(a, b)), all.reduce((a, b) => Math.max(a, b)), 5);
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

