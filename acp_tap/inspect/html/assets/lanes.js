// lanes.js: swimlanes (one per session, one for connection-level traffic, one for stderr),
// drawn for the visible window only. Frames closer than BUCKET_PX on screen are drawn as one
// group, and narrow spans are merged, so a zoomed-out view of 100k frames stays a few
// hundred elements; the page says when it does so.

const BUCKET_PX = 3;
const MIN_SPAN_PX = 4;
const MAX_SPAN_ROWS = 6;
const SEQS_LISTED = 200; // a group lists its frames' seq numbers in data-seqs up to this many
const lanesNode = document.getElementById("lanes");
const nodeInfo = new WeakMap(); // drawn element -> {track, frames, what}
let lanes = [];

const STATE = {
  filter: { session: "", dirs: new Set(["c2a", "a2c", "err"]), regex: null, text: "", found: null },
  selection: null,
  focus: null,
  listTrack: TRACKS[0],
};

function passes(track, i) {
  const f = STATE.filter;
  if (!f.dirs.has(track.dirName(i))) return false;
  if (f.session && f.session !== `${track.number}:${track.session[i]}`) return false;
  if (f.found && !f.found.get(track)[i]) return false;
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
  label.addEventListener("click", () => selectLane(lane, title));
  if (kind === "session") track.lanes.sessions[session] = lane;
  else track.lanes[kind] = lane;
  lanes.push(lane);
}

// Every frame of a lane (that the filters keep): for a session, its whole story.
function selectLane(lane, title) {
  const frames = [];
  for (let i = 0; i < lane.track.length; i++) if (laneOf(lane.track, i) === lane && passes(lane.track, i)) frames.push(i);
  select(lane.track, frames, { title: `${title}: every frame`, kind: "lane" });
}

function bodyWidth() {
  const body = lanes.length ? lanes[0].body : document.getElementById("ruler-body");
  return Math.max(body.clientWidth, 50);
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

function drawExit(lane, width) {
  const footer = lane.track.footer;
  const t = footer ? footer.t : lane.track.duration;
  const x = xOf(t, width);
  if (x < 0 || x > width + 1) return;
  const line = lane.body.appendChild(el("div", footer ? "exit-line" : "exit-line cut"));
  line.style.left = `${Math.min(x, width - 2).toFixed(1)}px`;
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
