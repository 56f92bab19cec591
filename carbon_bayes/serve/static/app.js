// carbon_bayes calculator: builds the form from the service's input contract, asks the JSON API and draws
// the predictive distribution from the quantiles it returns. No third-party code; everything is served locally.
"use strict";

const state = { contract: null, dist: null, estimate: null, run: null, timer: null, seq: 0 };
const LISTS = { hardware: "list-hardware", region: "list-region", country: "list-country" };
const EXAMPLE = { parameters: "7e9", training_tokens: "2e12", hardware: "A100-80GB", device_hours: "184320",
                  country: "US", year: "2023" };
const $ = (id) => document.getElementById(id);

function fmt(x) {
  if (x === null || x === undefined || !isFinite(x)) return "n/a";
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  return Number(x.toPrecision(3)).toString();
}

function pct(p) {
  if (p < 0.001) return "< 0.1%";
  if (p > 0.999) return "> 99.9%";
  return (100 * p).toFixed(1) + "%";
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
                                           body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  const data = await r.json();
  if (!r.ok) {
    const e = new Error((data.error && data.error.message) || ("HTTP " + r.status));
    e.field = data.error && data.error.field;
    throw e;
  }
  return data;
}

// ------------------------------------------------------------------ the form, from the contract
function buildField(col, categories) {
  const div = document.createElement("div");
  div.className = "field";
  const id = "f-" + col.name;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = col.name.replace(/_/g, " ");
  const hint = document.createElement("span");
  hint.className = "hint";
  hint.id = id + "-hint";
  hint.textContent = col.description + (col.unit && col.unit !== "-" ? " (" + col.unit + ")" : "");
  let input;
  if (col.kind === "category") {
    input = document.createElement("select");
    const none = document.createElement("option");
    none.value = "";
    none.textContent = "unknown";
    input.appendChild(none);
    for (const v of categories[col.name] || []) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = v.replace(/_/g, " ");
      input.appendChild(o);
    }
  } else {
    input = document.createElement("input");
    input.type = "text";
    input.autocomplete = "off";
    if (col.kind === "number") input.inputMode = "decimal";
    if (LISTS[col.name]) input.setAttribute("list", LISTS[col.name]);
  }
  input.id = id;
  input.name = col.name;
  input.setAttribute("aria-describedby", hint.id);
  div.append(label, input, hint);
  return div;
}

function fillList(id, values) {
  const list = $(id);
  for (const [value, text] of values) {
    const o = document.createElement("option");
    o.value = value;
    if (text) o.label = text;
    list.appendChild(o);
  }
}

async function init() {
  const [contract, health] = await Promise.all([api("/v1/contract"), api("/health")]);
  state.contract = contract;
  $("version").textContent = health.version;
  const box = $("fields");
  for (const col of contract.columns) box.appendChild(buildField(col, contract.categories));
  const [hw, regions, countries] = await Promise.all(["hardware", "regions", "countries"].map(
    (t) => api("/v1/tables/" + t)));
  fillList(LISTS.hardware, hw.map((h) => [h.hardware_id, h.display_name]));
  fillList(LISTS.region, regions.map((r) => [r.provider + ":" + r.region, r.location]));
  fillList(LISTS.country, countries.map((c) => [c.iso2 || c.iso3, c.name]));
  $("run-form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  $("example").addEventListener("click", () => {
    for (const [k, v] of Object.entries(EXAMPLE)) $("f-" + k).value = v;
  });
  $("budget").addEventListener("input", () => budgetChanged("number"));
  $("budget-range").addEventListener("input", () => budgetChanged("range"));
  $("copy").addEventListener("click", copyParagraph);
  document.body.dataset.ready = "true";
}

function currentRun() {
  const run = {};
  for (const col of state.contract.columns) {
    const el = $("f-" + col.name);
    el.removeAttribute("aria-invalid");
    const v = el.value.trim();
    if (v !== "") run[col.name] = v;
  }
  return run;
}

function showError(e) {
  const box = $("error");
  box.textContent = "Error: " + e.message;
  box.hidden = false;
  const name = (e.field || "").replace(/^run\./, "");
  const el = $("f-" + name);
  if (el) { el.setAttribute("aria-invalid", "true"); el.setAttribute("aria-errormessage", "error"); el.focus(); }
  $("status").textContent = "The estimate failed: " + e.message;
}

// ------------------------------------------------------------------ estimate and what follows from it
async function submit() {
  $("error").hidden = true;
  const run = currentRun();
  const seq = ++state.seq;
  $("status").textContent = "Estimating...";
  let out;
  try {
    out = await api("/v1/estimate", { run });
  } catch (e) {
    showError(e);
    return;
  }
  if (seq !== state.seq) return;
  state.run = run;
  state.estimate = out.estimate;
  state.dist = out.distribution;
  showEstimate(out);
  const b = $("budget");
  if (!(parseFloat(b.value) > 0)) b.value = Number(out.estimate.co2_t_median.toPrecision(2));
  setupRange();
  budgetChanged("number", true);
  loadVoi(run, seq);
  loadReport(run, seq);
}

function showEstimate(out) {
  const e = out.estimate;
  const lvl = "90%";
  $("energy-interval").textContent = fmt(e.energy_mwh_median) + " MWh (" + lvl + " interval " +
    fmt(e.energy_mwh_lower) + " to " + fmt(e.energy_mwh_upper) + ")";
  $("co2-interval").textContent = fmt(e.co2_t_median) + " t CO2e (" + lvl + " interval " +
    fmt(e.co2_t_lower) + " to " + fmt(e.co2_t_upper) + ")";
  $("tier").textContent = { T1: "T1: device-hours known", T2: "T2: compute known", T3: "T3: metadata only" }[e.tier];
  const notes = [e.warnings, ...out.notes].filter((x) => x);
  $("run-warnings").textContent = notes.length ? "Notes: " + notes.join("; ") : "";
  for (const id of ["summary", "budget-box"]) $(id).hidden = false;
  $("status").textContent = "Estimated: CO2e " + $("co2-interval").textContent + "; energy " +
    $("energy-interval").textContent + ".";
}

// P(X > b) from the quantile grid: the CDF interpolated linearly between quantiles.
function cdf(q, probs, x) {
  if (x <= q[0]) return x < q[0] ? 0 : probs[0];
  const n = q.length;
  if (x >= q[n - 1]) return 1;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (q[mid] <= x) lo = mid; else hi = mid; }
  const span = q[hi] - q[lo];
  return probs[lo] + (span > 0 ? (x - q[lo]) / span : 0) * (probs[hi] - probs[lo]);
}

function probExceeds(b) {
  const q = state.dist.co2_t, p = state.dist.probs;
  // below the 0.1% quantile or above the 99.9% one the grid says only that P is > 99.9% or < 0.1%
  if (b < q[0]) return 1;
  if (b > q[q.length - 1]) return 0;
  return 1 - cdf(q, p, b);
}

function axis() {
  const q = state.dist.co2_t;
  const lo = Math.log10(Math.max(q[0], 1e-12)) - 0.3, hi = Math.log10(Math.max(q[q.length - 1], 1e-12)) + 0.3;
  return [lo, hi];
}

function setupRange() {
  const b = parseFloat($("budget").value);
  $("budget-range").value = String(toSlider(b));
}

function toSlider(b) {
  const [lo, hi] = axis();
  const t = (Math.log10(Math.max(b, 1e-12)) - lo) / (hi - lo);
  return Math.round(1000 * Math.min(1, Math.max(0, t)));
}

function fromSlider(v) {
  const [lo, hi] = axis();
  return Number(Math.pow(10, lo + (hi - lo) * v / 1000).toPrecision(3));
}

function budgetChanged(source, immediate) {
  if (!state.dist) return;
  if (source === "range") $("budget").value = fromSlider(parseFloat($("budget-range").value));
  const b = parseFloat($("budget").value);
  if (!(b > 0)) { $("p-exceed").textContent = "give a budget above 0"; return; }
  if (source === "number") $("budget-range").value = String(toSlider(b));
  const p = probExceeds(b);
  $("p-exceed").textContent = pct(p);
  $("p-exceed").dataset.value = String(p);
  $("budget-range").setAttribute("aria-valuetext", fmt(b) + " t, P(exceed) " + pct(p));
  drawPlot(b);
  clearTimeout(state.timer);
  state.timer = setTimeout(() => loadAlternatives(b), immediate ? 0 : 400);
}

// ------------------------------------------------------------------ the plot (inline SVG)
const SVG = "http://www.w3.org/2000/svg";
function el(name, attrs, text) {
  const n = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function density(bins) {
  const q = state.dist.co2_t, p = state.dist.probs;
  const [lo, hi] = axis();
  const xs = [], ys = [];
  for (let i = 0; i < bins; i++) {
    const a = lo + (hi - lo) * i / bins, b = lo + (hi - lo) * (i + 1) / bins;
    xs.push((a + b) / 2);
    ys.push((cdf(q, p, Math.pow(10, b)) - cdf(q, p, Math.pow(10, a))) / (b - a));
  }
  return [xs, ys];
}

function drawPlot(budget) {
  const W = 720, H = 260, L = 50, R = 15, T = 15, B = 45;
  const [lo, hi] = axis();
  const [xs, ys] = density(50);
  const ymax = Math.max(...ys) * 1.1 || 1;
  const X = (lx) => L + (W - L - R) * (lx - lo) / (hi - lo);
  const Y = (d) => H - B - (H - T - B) * d / ymax;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, "aria-hidden": "true", focusable: "false" });
  const e = state.estimate;
  svg.appendChild(el("rect", { x: X(Math.log10(e.co2_t_lower)), y: T, height: H - T - B, fill: "#cfe0f3",
                               width: Math.max(1, X(Math.log10(e.co2_t_upper)) - X(Math.log10(e.co2_t_lower))) }));
  let d = `M ${X(xs[0])} ${Y(0)}`;
  xs.forEach((x, i) => { d += ` L ${X(x).toFixed(1)} ${Y(ys[i]).toFixed(1)}`; });
  d += ` L ${X(xs[xs.length - 1])} ${Y(0)} Z`;
  svg.appendChild(el("path", { d, fill: "rgba(10,79,150,0.35)", stroke: "#0a4f96", "stroke-width": 2 }));
  svg.appendChild(el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#1a1a1a" }));
  for (let k = Math.ceil(lo); k <= Math.floor(hi); k++) {
    svg.appendChild(el("line", { x1: X(k), x2: X(k), y1: H - B, y2: H - B + 6, stroke: "#1a1a1a" }));
    svg.appendChild(el("text", { x: X(k), y: H - B + 22, "text-anchor": "middle", "font-size": 13,
                                 fill: "#1a1a1a" }, fmt(Math.pow(10, k))));
  }
  svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 5, "text-anchor": "middle", "font-size": 13,
                               fill: "#1a1a1a" }, "t CO2e (log scale)"));
  const xb = X(Math.log10(budget));
  if (xb >= L && xb <= W - R) {
    svg.appendChild(el("line", { id: "budget-line", x1: xb, x2: xb, y1: T, y2: H - B, stroke: "#a00000",
                                 "stroke-width": 2.5, "stroke-dasharray": "6 4" }));
    svg.appendChild(el("text", { x: xb + 5, y: T + 14, "font-size": 13, fill: "#a00000" },
                       "budget " + fmt(budget) + " t"));
  }
  $("plot").replaceChildren(svg);
  $("plot").setAttribute("aria-label", "Predictive distribution of CO2e: median " + fmt(e.co2_t_median) +
                         " t, 90% interval " + fmt(e.co2_t_lower) + " to " + fmt(e.co2_t_upper) + " t; budget " +
                         fmt(budget) + " t, P(exceed) " + pct(probExceeds(budget)) + ".");
}

// ------------------------------------------------------------------ alternatives, value of information, report
async function loadAlternatives(budget) {
  const seq = state.seq;
  try {
    const out = await api("/v1/budget", { run: state.run, budget_t: budget, suggest: true });
    if (seq !== state.seq) return;
    const body = $("alternatives").querySelector("tbody");
    body.replaceChildren();
    const e = state.estimate;
    for (const r of out.ranking) {
      const tr = document.createElement("tr");
      if (r.is_reference) tr.className = "reference";
      // your run's row repeats the estimate above (the same figures as the headline); the alternatives'
      // figures, P(better) and the ranks come from the paired simulation (common random numbers)
      const cells = r.is_reference
        ? [r.rank, "your run (the estimate above)", fmt(e.co2_t_median), fmt(e.co2_t_lower) + " to " +
           fmt(e.co2_t_upper), pct(probExceeds(budget)), ""]
        : [r.rank, r.alternative.replace(/=/g, ": "), fmt(r.co2_t_median), fmt(r.co2_t_lower) + " to " +
           fmt(r.co2_t_upper), pct(r.prob_exceeds), pct(r.prob_better)];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        if (i !== 1) td.className = "num";
        td.textContent = String(c);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    $("alt-draws").textContent = out.n_draws.toLocaleString("en-US");
    $("alternatives").dataset.budget = String(budget);
    $("alternatives-box").hidden = false;
  } catch (e) {
    $("alternatives-box").hidden = true;
  }
}

async function loadVoi(run, seq) {
  try {
    const out = await api("/v1/voi", { run });
    if (seq !== state.seq) return;
    const top = out.inputs[0];
    $("voi").textContent = top ? top.sentence.charAt(0).toUpperCase() + top.sentence.slice(1) + "."
      : "Every input is given: nothing left to narrow the interval.";
    $("voi").dataset.input = top ? top.input : "";
    $("voi-box").hidden = false;
  } catch (e) {
    $("voi-box").hidden = true;
  }
}

async function loadReport(run, seq) {
  try {
    const out = await api("/v1/report", { runs: [run], format: "json" });
    if (seq !== state.seq) return;
    $("paragraph").value = JSON.parse(out.text).runs[0].paragraph;
    $("report-box").hidden = false;
  } catch (e) {
    $("report-box").hidden = true;
  }
}

async function copyParagraph() {
  const text = $("paragraph").value;
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    $("paragraph").select();
    document.execCommand("copy");
  }
  $("copied").textContent = "Copied.";
}

document.addEventListener("DOMContentLoaded", () => {
  init().catch((e) => { $("error").textContent = "The calculator could not start: " + e.message;
                        $("error").hidden = false; });
});
