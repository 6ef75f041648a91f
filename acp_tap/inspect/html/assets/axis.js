// axis.js: the time axis. Real time, with long stretches without any frame drawn shorter
// (each a labelled break taking at most IDLE_SHARE of the axis; "shorten idle gaps" turns
// it off); the view window, zoom and pan; the ruler and the overview of the whole recording.

const MIN_VIEW = 1e-5; // seconds: the deepest zoom
const IDLE_SHARE = 0.08; // no stretch without traffic may take more of the axis than this
const DURATION = Math.max(...TRACKS.map((t) => t.duration));
const view = { v0: 0, v1: DURATION }; // the window, in axis time (idle gaps shortened)
let renderQueued = false;

const axis = { gaps: [], breaks: [], cap: Infinity };

function findIdleGaps() {
  const times = [0, DURATION];
  for (const track of TRACKS) for (let i = 0; i < track.length; i++) times.push(track.t[i]);
  const sorted = Float64Array.from(times).sort();
  const gaps = [];
  for (let k = 1; k < sorted.length; k++) {
    if (sorted[k] > sorted[k - 1]) gaps.push({ a: sorted[k - 1], b: sorted[k], length: sorted[k] - sorted[k - 1] });
  }
  const total = (cap) => gaps.reduce((sum, gap) => sum + Math.min(gap.length, cap), 0);
  const longest = gaps.reduce((m, gap) => Math.max(m, gap.length), 0);
  const share = Math.max(IDLE_SHARE, 2 / gaps.length); // a few gaps share the axis anyway
  if (share * total(longest) >= longest) return;
  let lo = 0;
  let hi = longest;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (share * total(mid) >= mid) lo = mid; else hi = mid;
  }
  if (!(lo > 0)) return;
  axis.cap = lo;
  axis.gaps = gaps.filter((gap) => gap.length > 2 * lo);
}

function compressIdle(on) {
  axis.breaks = [];
  let removed = 0;
  for (const gap of on ? axis.gaps : []) {
    axis.breaks.push({ ...gap, removed, v: gap.a - removed });
    removed += gap.length - axis.cap;
  }
}

function breakBefore(t, key) {
  let lo = 0;
  let hi = axis.breaks.length - 1;
  let found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (axis.breaks[mid][key] <= t) { found = axis.breaks[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

function toAxis(t) {
  const gap = breakBefore(t, "a");
  if (!gap) return t;
  if (t >= gap.b) return t - gap.removed - (gap.length - axis.cap);
  return gap.v + ((t - gap.a) / gap.length) * axis.cap;
}

function toTime(v) {
  const gap = breakBefore(v, "v");
  if (!gap) return v;
  if (v >= gap.v + axis.cap) return v + gap.removed + (gap.length - axis.cap);
  return gap.a + ((v - gap.v) / axis.cap) * gap.length;
}

function axisLength() {
  return toAxis(DURATION);
}

function xOf(t, width) {
  return ((toAxis(t) - view.v0) / (view.v1 - view.v0)) * width;
}

function axisAt(x, width) {
  return view.v0 + (x / width) * (view.v1 - view.v0);
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderTimeline();
  });
}

// setView, zoomAt and panBy take axis time; zoomTo and reveal take real time.
function setView(v0, v1) {
  const length = axisLength();
  let span = Math.min(Math.max(v1 - v0, MIN_VIEW), length);
  if (!(span > 0)) span = length;
  let start = Math.max(0, v0);
  if (start + span > length) start = Math.max(0, length - span);
  view.v0 = start;
  view.v1 = start + span;
  scheduleRender();
}

function zoomAt(factor, v) {
  const span = view.v1 - view.v0;
  const ratio = (v - view.v0) / span;
  const next = span / factor;
  setView(v - ratio * next, v - ratio * next + next);
}

function panBy(dv) {
  setView(view.v0 + dv, view.v1 + dv);
}

function zoomTo(track, frames) {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const i of frames) {
    t0 = Math.min(t0, track.t[i]);
    t1 = Math.max(t1, track.t[i]);
  }
  const [v0, v1] = [toAxis(t0), toAxis(t1)];
  const pad = Math.max((v1 - v0) * 0.1, 5e-5);
  setView(v0 - pad, v1 + pad);
}

function reveal(t) {
  const v = toAxis(t);
  if (v >= view.v0 && v <= view.v1) return;
  const span = view.v1 - view.v0;
  setView(v - span / 2, v + span / 2);
}

function niceStep(raw) {
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function drawBreaks(node, width, labelled) {
  for (const gap of axis.breaks) {
    const x0 = xOf(gap.a, width);
    const x1 = xOf(gap.b, width);
    if (x1 < 0 || x0 > width) continue;
    const mark = node.appendChild(el("div", "gap", labelled ? `⋯ ${fmtDuration(gap.length)}` : undefined));
    mark.style.left = `${x0.toFixed(1)}px`;
    mark.style.width = `${Math.max(2, x1 - x0).toFixed(1)}px`;
    mark.title = `${fmtDuration(gap.length)} without any frame (${fmtTime(gap.a)}–${fmtTime(gap.b)} s), drawn shorter; untick "shorten idle gaps" for a linear time axis`;
  }
}

function drawRuler(width) {
  const ruler = document.getElementById("ruler-body");
  ruler.textContent = "";
  const span = view.v1 - view.v0;
  const step = niceStep((span * 110) / width);
  const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(step))));
  const taken = axis.breaks.map((gap) => [xOf(gap.a, width) - 50, xOf(gap.b, width) + 60]);
  for (let v = Math.ceil(view.v0 / step) * step; v <= view.v1; v += step) {
    const x = ((v - view.v0) / span) * width;
    if (taken.some(([x0, x1]) => x > x0 && x < x1)) continue; // a shortened gap's label is there
    const tick = ruler.appendChild(el("div", "rtick", `${toTime(v).toFixed(decimals)} s`));
    tick.style.left = `${x.toFixed(1)}px`;
  }
  drawBreaks(ruler, width, true);
  for (const track of TRACKS) {
    const footer = track.footer;
    const t = footer ? footer.t : track.duration;
    const x = xOf(t, width);
    if (x < 0 || x > width + 1) continue;
    const prefix = TRACKS.length > 1 ? `${track.label}: ` : "";
    const text = footer ? `${prefix}exit ${footer.status}` : `${prefix}cut short`;
    const mark = ruler.appendChild(el("div", "rexit", text));
    mark.style.left = `${Math.max(0, Math.min(x, width - 60)).toFixed(1)}px`;
    mark.title = footer
      ? `${footer.signal !== null ? `killed by signal ${footer.signal}` : `exit code ${footer.exit_code}`}, ${footer.closed_first} closed first, at ${fmtTime(footer.t)} s`
      : "the recording has no footer: it was cut short";
    mark.addEventListener("click", () => selectExit(track));
  }
}

function drawOverview() {
  const bars = document.getElementById("overview-bars");
  bars.textContent = "";
  const bins = 200;
  const counts = new Array(bins).fill(0);
  for (const track of TRACKS) {
    const length = axisLength();
    for (let i = 0; i < track.length; i++) counts[Math.min(bins - 1, Math.floor((toAxis(track.t[i]) / length) * bins))] += 1;
  }
  const top = Math.max(1, ...counts);
  counts.forEach((n, k) => {
    if (!n) return;
    const bar = bars.appendChild(el("div", "obar"));
    bar.style.left = `${(k / bins) * 100}%`;
    bar.style.width = `${100 / bins}%`;
    bar.style.height = `${Math.max(8, Math.sqrt(n / top) * 100)}%`;
  });
}

function drawOverviewWindow() {
  const box = document.getElementById("overview-window");
  const length = axisLength();
  box.style.left = `${(view.v0 / length) * 100}%`;
  box.style.width = `${Math.max(0.3, ((view.v1 - view.v0) / length) * 100)}%`;
}
