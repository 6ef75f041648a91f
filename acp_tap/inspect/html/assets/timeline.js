// timeline.js: swimlanes on a time axis (one per session, one for connection-level traffic,
// one for stderr), drawn for the visible window only. Frames closer than BUCKET_PX on
// screen are drawn as one group, and narrow spans are merged, so a zoomed-out view of
// 100k frames stays a few hundred elements; the page says when it does so.

const BUCKET_PX = 3;
const MIN_SPAN_PX = 4;
const MAX_SPAN_ROWS = 6;
const MIN_VIEW = 1e-5; // seconds: the deepest zoom
const SEQS_LISTED = 200; // a group lists its frames' seq numbers in data-seqs up to this many
const IDLE_SHARE = 0.08; // no stretch without traffic may take more of the axis than this
const DURATION = Math.max(...TRACKS.map((t) => t.duration));
const view = { v0: 0, v1: DURATION }; // the window, in axis time (idle gaps shortened)
const lanesNode = document.getElementById("lanes");
const nodeInfo = new WeakMap(); // drawn element -> {track, frames, what}
let lanes = [];
let renderQueued = false;

const STATE = {
  filter: { session: "", dirs: new Set(["c2a", "a2c", "err"]), regex: null },
  selection: null,
  focus: null,
  listTrack: TRACKS[0],
};

function passes(track, i) {
  const f = STATE.filter;
  if (!f.dirs.has(track.dirName(i))) return false;
  if (f.session && f.session !== `${track.number}:${track.session[i]}`) return false;
  if (f.regex) {
    const method = track.method(i);
    const update = track.update(i);
    const stderr = track.kindName(i) === "stderr";
    if (!((method && f.regex.test(method)) || (update && f.regex.test(update)) || (stderr && f.regex.test("stderr")))) return false;
  }
  return true;
}

function laneCounts(track) {
  if (!track.counts) {
    const counts = { connection: 0, stderr: 0, sessions: new Array(track.sessions.length).fill(0) };
    for (let i = 0; i < track.length; i++) {
      if (track.session[i] >= 0) counts.sessions[track.session[i]] += 1;
      else if (track.dirName(i) === "err") counts.stderr += 1;
      else counts.connection += 1;
    }
    track.counts = counts;
  }
  return track.counts;
}

function buildLanes() {
  lanesNode.textContent = "";
  lanes = [];
  const only = STATE.filter.session;
  for (const track of TRACKS) {
    const counts = laneCounts(track);
    if (TRACKS.length > 1) {
      lanesNode.appendChild(el("div", "track-head", `${track.label}: ${track.name}`));
    }
    track.lanes = { connection: null, stderr: null, sessions: [] };
    if (counts.connection && !only) addLane(track, "connection", -1, "connection", plural(counts.connection, "frame"));
    track.sessions.forEach((id, s) => {
      if (only && only !== `${track.number}:${s}`) return;
      const turns = track.turnsBySession[s].length;
      addLane(track, "session", s, `session ${s + 1} · ${shortId(id)}`,
        `${plural(counts.sessions[s], "frame")} · ${plural(turns, "turn")}`, id);
    });
    if (counts.stderr && !only) addLane(track, "stderr", -1, "stderr", plural(counts.stderr, "line"));
  }
}

function addLane(track, kind, session, title, sub, id) {
  const node = el("div", "lane");
  node.dataset.lane = kind;
  node.dataset.track = String(track.number);
  if (id !== undefined) node.dataset.session = id;
  const label = node.appendChild(el("div", "lane-label", title));
  label.title = id === undefined ? title : `session ${id}`;
  label.appendChild(el("small", "", sub));
  const body = node.appendChild(el("div", "lane-body"));
  lanesNode.appendChild(node);
  const lane = { track, kind, session, node, body, rows: {} };
  if (kind === "session") track.lanes.sessions[session] = lane;
  else track.lanes[kind] = lane;
  lanes.push(lane);
}

function bodyWidth() {
  const body = lanes.length ? lanes[0].body : document.getElementById("ruler-body");
  return Math.max(body.clientWidth, 50);
}

// ---- the time axis: real time, with long stretches without any frame shortened so that
// they take at most IDLE_SHARE of the axis each (they are drawn as breaks, with their
// length); "compress idle gaps" turns it off.

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

function renderTimeline() {
  const width = bodyWidth();
  const stats = { grouped: 0, groups: 0, spansGrouped: 0, spanGroups: 0 };
  for (const lane of lanes) {
    lane.body.textContent = "";
    lane.rows = {};
    if (lane.kind === "session") lane.rows.turns = lane.body.appendChild(el("div", "row turns"));
    lane.rows.ticks = lane.body.appendChild(el("div", "row ticks"));
  }
  for (const track of TRACKS) drawFrames(track, width, stats);
  for (const lane of lanes) {
    drawSpans(lane, width, stats);
    drawExit(lane, width);
    drawBreaks(lane.body, width, false);
  }
  drawRuler(width);
  drawOverviewWindow();
  drawCursor(width);
  markSelectedNodes();
  const note = document.getElementById("agg-note");
  const parts = [];
  if (stats.groups) parts.push(`${plural(stats.grouped, "frame")} drawn as ${plural(stats.groups, "group")}`);
  if (stats.spanGroups) parts.push(`${plural(stats.spansGrouped, "span")} merged into ${plural(stats.spanGroups, "group")}`);
  note.textContent = parts.length
    ? `Too close to draw one by one at this zoom: ${parts.join(", ")}. Click a group to see its frames; zoom in to separate them.`
    : "";
  const range = document.getElementById("z-range");
  const zoom = (axisLength() / (view.v1 - view.v0)).toPrecision(3);
  const shortened = axis.breaks.length ? `, ${plural(axis.breaks.length, "idle gap")} shortened` : "";
  range.textContent = `${fmtTime(toTime(view.v0))}–${fmtTime(toTime(view.v1))} s of ${fmtDuration(DURATION)} (×${zoom}${shortened})`;
}

function laneOf(track, i) {
  const s = track.session[i];
  if (s >= 0) return track.lanes.sessions[s] || null;
  return track.dirName(i) === "err" ? track.lanes.stderr : track.lanes.connection;
}

function isCancel(track, i) {
  return track.method(i) === "session/cancel" && track.kindName(i) === "notification";
}

function drawFrames(track, width, stats) {
  const pad = (view.v1 - view.v0) * (BUCKET_PX / width);
  const [start, end] = [toTime(view.v0 - pad), toTime(view.v1 + pad)];
  const first = track.timeSorted ? track.indexAtTime(start) + 1 : 0;
  const open = new Map(); // lane row -> {bucket, frames, lane, dir}
  const flush = (group) => {
    if (group.frames.length > 1) {
      stats.grouped += group.frames.length;
      stats.groups += 1;
    }
    drawTicks(track, group, width);
  };
  for (let i = first; i < track.length; i++) {
    const t = track.t[i];
    if (t > end) {
      if (track.timeSorted) break;
      continue;
    }
    if (t < start) continue;
    if (!passes(track, i)) continue;
    const lane = laneOf(track, i);
    if (!lane) continue;
    const dir = track.dirName(i);
    if (track.problems.has(i) || isCancel(track, i) || (track.marks && track.marks.has(i))) {
      drawTicks(track, { frames: [i], lane, dir, special: true }, width);
      continue;
    }
    const bucket = Math.floor(xOf(t, width) / BUCKET_PX);
    const key = `${lane.kind}:${lane.session}:${dir}`;
    const group = open.get(key);
    if (group && group.bucket === bucket) group.frames.push(i);
    else {
      if (group) flush(group);
      open.set(key, { bucket, frames: [i], lane, dir });
    }
  }
  for (const group of open.values()) flush(group);
}

function drawTicks(track, group, width) {
  const frames = group.frames;
  const i = frames[0];
  const node = el("div", `tick ${group.dir}`);
  if (frames.length > 1) node.classList.add("group");
  if (group.special) {
    if (track.problems.has(i)) node.classList.add("problem");
    else if (isCancel(track, i)) node.classList.add("cancel");
  }
  if (track.marks && track.marks.has(i)) node.classList.add("marked");
  node.style.left = `${xOf(track.t[i], width).toFixed(1)}px`;
  node.dataset.seq = String(track.seq[i]);
  node.dataset.count = String(frames.length);
  if (frames.length <= SEQS_LISTED) node.dataset.seqs = frames.map((k) => track.seq[k]).join(" ");
  const last = frames[frames.length - 1];
  node.title = frames.length === 1
    ? `frame ${track.seq[i]} · ${ARROWS[group.dir]} ${track.labelOf(i)} · ${fmtTime(track.t[i])} s`
    : `${plural(frames.length, "frame")} (${track.seq[i]}–${track.seq[last]}) · ${fmtTime(track.t[i])}–${fmtTime(track.t[last])} s`;
  const what = frames.length === 1 ? null : { title: node.title, kind: "group" };
  nodeInfo.set(node, { track, frames, what });
  group.lane.rows.ticks.appendChild(node);
}

function laneSpans(lane) {
  const track = lane.track;
  const items = [];
  for (const tool of track.tools) {
    if (tool.session !== lane.session) continue;
    const t0 = track.t[tool.frames[0]];
    const t1 = track.t[tool.frames[tool.frames.length - 1]];
    items.push({ type: "tool", t0, t1, tool, frames: tool.frames });
  }
  for (const request of track.requests) {
    if (request.session !== lane.session || track.turnOfRequest.has(request.req)) continue;
    const t0 = track.t[request.req];
    const t1 = request.res === undefined ? Math.max(track.duration, t0) : track.t[request.res];
    const permission = track.permissionOf.get(request);
    items.push({ type: permission ? "perm" : "req", t0, t1, request, permission, frames: track.requestFrames(request) });
  }
  return items.sort((a, b) => a.t0 - b.t0);
}

function drawSpans(lane, width, stats) {
  const track = lane.track;
  if (lane.kind === "stderr") return;
  if (!lane.spans) lane.spans = laneSpans(lane);
  if (lane.kind === "session") {
    const turns = track.turnsBySession[lane.session].map((turn) => ({
      type: "turn", t0: track.t[turn.start], t1: track.turnEndTime(turn), turn, frames: track.requestFrames(track.requestAt.get(turn.start)),
    }));
    for (const group of mergeNarrow(turns, width, stats)) lane.rows.turns.appendChild(spanNode(track, group, width));
  }
  const rows = [];
  for (const group of mergeNarrow(lane.spans, width, stats)) {
    let row = rows.findIndex((end) => end + 2 <= group.x0);
    if (row < 0 && rows.length < MAX_SPAN_ROWS) row = rows.push(-Infinity) - 1;
    if (row < 0) row = rows.indexOf(Math.min(...rows));
    rows[row] = group.x1;
    if (!lane.rows[`spans${row}`]) lane.rows[`spans${row}`] = lane.body.appendChild(el("div", "row spans"));
    lane.rows[`spans${row}`].appendChild(spanNode(track, group, width));
  }
}

function mergeNarrow(items, width, stats) {
  const groups = [];
  let current = null;
  for (const item of items) {
    const x0 = xOf(item.t0, width);
    const x1 = Math.max(xOf(item.t1, width), x0 + 3);
    if (x1 < -20 || x0 > width + 20) continue;
    const narrow = x1 - x0 < MIN_SPAN_PX;
    if (narrow && current && current.narrow && x0 <= current.x1 + 2) {
      current.items.push(item);
      current.x1 = Math.max(current.x1, x1);
      continue;
    }
    current = { x0, x1, items: [item], narrow };
    groups.push(current);
  }
  for (const group of groups) {
    if (group.items.length > 1) {
      stats.spansGrouped += group.items.length;
      stats.spanGroups += 1;
    }
  }
  return groups;
}

function spanNode(track, group, width) {
  const node = el("div", "span");
  const left = Math.max(group.x0, -2);
  node.style.left = `${left.toFixed(1)}px`;
  node.style.width = `${Math.max(3, Math.min(group.x1, width + 2) - left).toFixed(1)}px`;
  if (group.items.length > 1) {
    const counts = {};
    for (const item of group.items) counts[item.type] = (counts[item.type] || 0) + 1;
    const words = { turn: "turn", tool: "tool call", perm: "permission", req: "request" };
    const text = Object.entries(counts).map(([type, n]) => plural(n, words[type])).join(", ");
    node.classList.add("group");
    node.textContent = text;
    node.title = `${text}: too close to draw one by one; click to see their frames`;
    const frames = group.items.flatMap((item) => item.frames).sort((a, b) => a - b);
    nodeInfo.set(node, { track, frames, what: { title: text, kind: "group" } });
    return node;
  }
  const item = group.items[0];
  const described = describeSpan(track, item);
  node.classList.add(...described.classes);
  for (const [key, value] of Object.entries(described.data)) node.dataset[key] = value;
  appendText(node, described.label);
  node.title = described.tooltip;
  nodeInfo.set(node, { track, frames: item.frames, what: described.what });
  return node;
}

function describeSpan(track, item) {
  if (item.type === "turn") return describeTurn(track, item.turn);
  if (item.type === "tool") return describeTool(track, item.tool);
  if (item.type === "perm") return describePermission(track, item.permission);
  const request = item.request;
  const latency = track.latency(request);
  const classes = ["req", request.error ? "error" : request.res === undefined ? "open" : "done"];
  const when = latency === null ? "never answered" : fmtDuration(latency);
  const label = `${request.method} · ${request.error ? "error" : when}`;
  const tooltip = `${ARROWS[request.dir]} ${request.method} (frame ${track.seq[request.req]})\n${
    request.error ? request.error : latency === null ? "no response" : `answered in ${when} (frame ${track.seq[request.res]})`}`;
  return { classes, label, tooltip, data: { request: String(request.number) },
    what: { title: `request ${request.method}`, kind: "request", request } };
}

function turnOutcome(track, turn) {
  if (turn.error) return { text: "error", bad: true };
  if (turn.end === null) return { text: "unfinished", bad: true };
  if (turn.origin === "load") return { text: "history loaded", bad: false };
  return { text: turn.stop || "no stop reason", bad: turn.stop !== "end_turn" };
}

function describeTurn(track, turn) {
  const outcome = turnOutcome(track, turn);
  const classes = ["turn"];
  if (turn.error) classes.push("error");
  else if (turn.cancel !== null) classes.push("cancelled");
  else if (turn.end === null) classes.push("unfinished");
  const duration = fmtDuration(track.turnEndTime(turn) - track.t[turn.start]);
  const name = `turn ${turn.n + 1}${turn.origin === "load" ? " (session/load)" : ""}`;
  const prompt = turn.origin === "prompt" ? clip(visible(track.promptText(turn)), 120) : "";
  const label = `${name} · ${outcome.text}${turn.cancel !== null ? " ⊘" : ""} · ${duration}${prompt ? " · " + prompt : ""}`;
  const tooltip = `${name} of session ${track.sessions[turn.session]}\n${outcome.text}${turn.error ? ": " + turn.error : ""}${
    turn.cancel !== null ? `\ncancelled by the client (frame ${track.seq[turn.cancel]})` : ""}\n${duration}, frames ${track.seq[turn.start]}–${
    turn.end === null ? "…" : track.seq[turn.end]}`;
  return { classes, label, tooltip, data: { turn: String(turn.n + 1), session: track.sessions[turn.session] },
    what: { title: `${name} · ${outcome.text}`, kind: "turn", turn } };
}

function toolState(tool) {
  const last = tool.statuses[tool.statuses.length - 1];
  return last === "failed" ? "failed" : FINAL_STATUSES.has(last) ? "done" : "open";
}

function describeTool(track, tool) {
  const state = toolState(tool);
  const statuses = tool.statuses.join(" → ") || "no status";
  const name = tool.title || tool.id;
  const t0 = track.t[tool.frames[0]];
  const t1 = track.t[tool.frames[tool.frames.length - 1]];
  return {
    classes: ["tool", state],
    label: `${name} · ${tool.statuses[tool.statuses.length - 1] || "?"}`,
    tooltip: `tool call ${tool.id}: ${name}${tool.kind ? ` (${tool.kind})` : ""}\n${statuses}\n${fmtDuration(t1 - t0)}, ${plural(tool.frames.length, "frame")}${
      state === "open" ? "\nnever reached completed or failed" : ""}`,
    data: { tool: tool.id },
    what: { title: `tool call ${name}${tool.kind ? ` (${tool.kind})` : ""}: ${statuses}`, kind: "tool", tool },
  };
}

function chosenOption(permission) {
  return permission.options.find((o) => o[0] === permission.chosen) || null;
}

function describePermission(track, permission) {
  const request = track.requests[permission.request];
  const option = chosenOption(permission);
  const tool = permission.tool && track.tools.find((t) => t.id === permission.tool && t.session === request.session);
  const subject = tool ? tool.title || tool.id : permission.tool || "?";
  let outcome;
  let state;
  if (option) {
    outcome = `${option[1]} ✓`;
    state = option[2].startsWith("reject") ? "reject" : "allow";
  } else if (permission.outcome) {
    outcome = permission.outcome;
    state = permission.outcome === "error" ? "reject" : "open";
  } else {
    outcome = request.res === undefined ? "unanswered" : "no outcome";
    state = "open";
  }
  const options = permission.options.map((o) => `${o[0] === permission.chosen ? "✓" : "·"} ${o[1]} [${o[0]}, ${o[2]}]`).join("\n");
  const latency = track.latency(request);
  return {
    classes: ["perm", state],
    label: `permission ${subject}: ${outcome}`,
    tooltip: `permission for ${subject}\n${options}\n${latency === null ? "unanswered" : `answered in ${fmtDuration(latency)}`}`,
    data: { tool: permission.tool || "", permission: String(permission.request) },
    what: { title: `permission for ${subject}: ${outcome}`, kind: "permission", permission, request },
  };
}

function drawExit(lane, width) {
  const footer = lane.track.footer;
  const t = footer ? footer.t : lane.track.duration;
  const x = xOf(t, width);
  if (x < 0 || x > width + 1) return;
  const line = lane.body.appendChild(el("div", footer ? "exit-line" : "exit-line cut"));
  line.style.left = `${Math.min(x, width - 2).toFixed(1)}px`;
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

function drawCursor(width) {
  const sel = STATE.selection;
  if (!sel || !sel.frames.length) return;
  const x = xOf(sel.track.t[sel.frames[0]], width);
  if (x < 0 || x > width) return;
  for (const lane of lanes) {
    if (lane.track !== sel.track) continue;
    const line = lane.body.appendChild(el("div", "cursor-line"));
    line.style.left = `${x.toFixed(1)}px`;
  }
}

function markSelectedNodes() {
  const sel = STATE.selection;
  if (!sel) return;
  const wanted = new Set(sel.frames);
  for (const lane of lanes) {
    if (lane.track !== sel.track) continue;
    for (const node of lane.body.querySelectorAll(".tick, .span")) {
      const info = nodeInfo.get(node);
      if (info && info.frames.length && info.frames.some((i) => wanted.has(i)) && sameThing(info, sel)) node.classList.add("selected");
    }
  }
}

function sameThing(info, sel) {
  if (!sel.what || !info.what) return true;
  return info.what.kind === sel.what.kind;
}
