// main.js: the header, the filters, zoom and pan, keyboard, then the first drawing.

function describeHeader() {
  const title = document.getElementById("title");
  const meta = document.getElementById("meta");
  const first = TRACKS[0];
  title.textContent = MODEL.kind === "diff" ? `acp-tap diff · ${TRACKS.map((t) => t.name).join(" vs ")}` : `acp-tap trace · ${first.name}`;
  const parts = [];
  for (const track of TRACKS) {
    const h = track.header;
    if (!h) continue;
    const prefix = TRACKS.length > 1 ? `${track.label}: ` : "";
    parts.push(`${prefix}${h.argv.join(" ")} · cwd ${h.cwd} · started ${h.started} · acp-tap ${h.acp_tap}${
      h.redaction && h.redaction.length ? ` · redaction ${h.redaction.join(", ")}` : ""}`);
  }
  meta.textContent = visible(parts.join("  |  "));
  meta.title = meta.textContent;
  const stats = document.getElementById("stats");
  stats.textContent = TRACKS.map((track) => (TRACKS.length > 1 ? `${track.label}: ` : "") + trackStats(track)).join("  |  ");
}

function trackStats(track) {
  const perDir = { c2a: 0, a2c: 0, err: 0 };
  for (let i = 0; i < track.length; i++) perDir[track.dirName(i)] += 1;
  const errors = track.requests.filter((r) => r.error).length;
  const footer = track.footer;
  const end = footer
    ? `exit ${footer.status} (${footer.signal !== null ? `signal ${footer.signal}` : `code ${footer.exit_code}`}, ${footer.closed_first} closed first)`
    : "no footer: cut short";
  return [
    `${plural(track.length, "frame")} (→ ${perDir.c2a} · ← ${perDir.a2c} · ! ${perDir.err})`,
    plural(track.sessions.length, "session"),
    plural(track.turns.length, "turn"),
    plural(track.tools.length, "tool call"),
    plural(track.permissions.length, "permission"),
    plural(errors, "error response"),
    fmtDuration(track.duration),
    end,
  ].join(" · ");
}

function notice(text, className, onClick) {
  const node = document.getElementById("notices").appendChild(el("div", `notice ${className || ""}`, text));
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

function describeNotices() {
  for (const track of TRACKS) {
    const prefix = TRACKS.length > 1 ? `${track.label}: ` : "";
    for (const warning of track.model.warnings) notice(prefix + warning, "bad");
    const content = track.model.content;
    if (content.omitted.length) {
      notice(`${prefix}${plural(content.omitted.length, "frame")} (${fmtSize(content.omittedBytes)}) are drawn and listed but their content was left out of the page (too large for a browser); read them with acp-tap show.`);
    }
  }
  for (const mark of MODEL.marks) {
    const track = TRACKS[mark.track];
    const i = track.indexOfSeq(mark.seq);
    const where = TRACKS.length > 1 ? `${track.label} ` : "";
    notice(`⚑ ${mark.kind} at ${where}frame ${mark.seq}: ${mark.text}`, "mark", () => {
      if (i >= 0) select(track, [i], { title: `${mark.kind} at frame ${mark.seq}`, kind: "mark" });
    });
  }
}

function prepareMarks() {
  for (const mark of MODEL.marks) {
    const track = TRACKS[mark.track];
    if (!track) continue;
    if (!track.marks) track.marks = new Map();
    const i = track.indexOfSeq(mark.seq);
    if (i >= 0) track.marks.set(i, mark);
  }
}

function setUpFilters() {
  const sessions = document.getElementById("f-session");
  sessions.appendChild(el("option", "", "all sessions")).value = "";
  for (const track of TRACKS) {
    track.sessions.forEach((id, s) => {
      const prefix = TRACKS.length > 1 ? `${track.label} ` : "";
      const option = sessions.appendChild(el("option", "", `${prefix}session ${s + 1}: ${shortId(id)}`));
      option.value = `${track.number}:${s}`;
      option.title = id;
    });
  }
  const names = new Set(["stderr"]);
  for (const track of TRACKS) for (const [method, update] of track.names) { if (method) names.add(method); if (update) names.add(update); }
  const list = document.getElementById("f-methods");
  for (const name of [...names].sort()) list.appendChild(el("option")).value = name;
  const given = MODEL.filters || {};
  if (given.session) {
    const match = TRACKS.flatMap((track) => track.sessions.map((id, s) => [id, `${track.number}:${s}`])).find(([id]) => id.startsWith(given.session));
    if (match) sessions.value = match[1];
    else notice(`No session starts with "${given.session}" (the filter given on the command line).`, "bad");
  }
  if (given.dirs && given.dirs.length) {
    for (const dir of ["c2a", "a2c", "err"]) document.getElementById(`f-${dir}`).checked = given.dirs.includes(dir);
  }
  if (given.methods && given.methods.length) document.getElementById("f-method").value = given.methods.join(" ");
  readFilters();
  const changed = () => { readFilters(); applyFilters(); };
  sessions.addEventListener("change", changed);
  for (const dir of ["c2a", "a2c", "err"]) document.getElementById(`f-${dir}`).addEventListener("change", changed);
  document.getElementById("f-method").addEventListener("input", changed);
  let typing = null;
  document.getElementById("f-find").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(changed, 250);
  });
}

function readFilters() {
  const f = STATE.filter;
  f.session = document.getElementById("f-session").value;
  f.dirs = new Set(["c2a", "a2c", "err"].filter((d) => document.getElementById(`f-${d}`).checked));
  const globs = document.getElementById("f-method").value.split(/[\s,]+/).filter(Boolean);
  f.regex = globRegExp(globs);
  const text = document.getElementById("f-find").value;
  if (text !== f.text) {
    f.text = text;
    f.found = text ? new Map(TRACKS.map((track) => [track, track.matching(text)])) : null;
  }
}

function applyFilters() {
  buildLanes();
  refreshList();
  renderTimeline();
}

function setUpZoom() {
  document.getElementById("z-in").addEventListener("click", () => zoomAt(2, (view.v0 + view.v1) / 2));
  document.getElementById("z-out").addEventListener("click", () => zoomAt(0.5, (view.v0 + view.v1) / 2));
  document.getElementById("z-fit").addEventListener("click", () => setView(0, axisLength()));
  const idle = document.getElementById("z-idle");
  idle.parentElement.hidden = !axis.gaps.length;
  idle.addEventListener("change", () => {
    const [t0, t1] = [toTime(view.v0), toTime(view.v1)];
    compressIdle(idle.checked);
    drawOverview();
    setView(toAxis(t0), toAxis(t1));
  });
  const pointerTime = (event) => {
    const body = event.target.closest(".lane-body") || document.getElementById("ruler-body");
    const box = body.getBoundingClientRect();
    return axisAt(event.clientX - box.left, box.width);
  };
  lanesNode.addEventListener("wheel", (event) => {
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      zoomAt(Math.exp(-event.deltaY * 0.002), pointerTime(event));
    } else if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      event.preventDefault();
      const delta = event.shiftKey ? event.deltaY : event.deltaX;
      panBy((delta / bodyWidth()) * (view.v1 - view.v0));
    }
  }, { passive: false });
  let drag = null;
  lanesNode.addEventListener("mousedown", (event) => {
    if (event.button !== 0 || !event.target.closest(".lane-body") || event.target.closest(".tick, .span")) return;
    drag = { x: event.clientX, v0: view.v0, v1: view.v1 };
  });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const dv = ((drag.x - event.clientX) / bodyWidth()) * (drag.v1 - drag.v0);
    setView(drag.v0 + dv, drag.v1 + dv);
  });
  window.addEventListener("mouseup", () => { drag = null; });
  setUpRulerBrush();
  setUpOverview();
  lanesNode.addEventListener("click", (event) => {
    const node = event.target.closest(".tick, .span");
    const info = node && nodeInfo.get(node);
    if (info) select(info.track, info.frames, info.what, { from: "lanes" });
  });
  window.addEventListener("resize", scheduleRender);
}

function setUpRulerBrush() {
  const ruler = document.getElementById("ruler-body");
  let brush = null;
  ruler.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    const box = ruler.getBoundingClientRect();
    brush = { box, x: event.clientX - box.left, node: ruler.appendChild(el("div")) };
    brush.node.id = "ruler-brush";
    event.preventDefault();
  });
  window.addEventListener("mousemove", (event) => {
    if (!brush) return;
    const x = Math.max(0, Math.min(brush.box.width, event.clientX - brush.box.left));
    brush.node.style.left = `${Math.min(x, brush.x)}px`;
    brush.node.style.width = `${Math.abs(x - brush.x)}px`;
  });
  window.addEventListener("mouseup", (event) => {
    if (!brush) return;
    const x = Math.max(0, Math.min(brush.box.width, event.clientX - brush.box.left));
    const width = brush.box.width;
    if (Math.abs(x - brush.x) > 4) setView(axisAt(Math.min(x, brush.x), width), axisAt(Math.max(x, brush.x), width));
    else zoomAt(2, axisAt(x, width));
    brush.node.remove();
    brush = null;
  });
}

function setUpOverview() {
  const overview = document.getElementById("overview");
  let moving = false;
  const move = (event) => {
    const box = overview.getBoundingClientRect();
    const v = ((event.clientX - box.left) / box.width) * axisLength();
    const span = view.v1 - view.v0;
    setView(v - span / 2, v + span / 2);
  };
  overview.addEventListener("mousedown", (event) => { moving = true; move(event); event.preventDefault(); });
  window.addEventListener("mousemove", (event) => { if (moving) move(event); });
  window.addEventListener("mouseup", () => { moving = false; });
}

function setUpKeys() {
  listNode.addEventListener("scroll", queueList);
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof Element && event.target.closest("input, select, textarea");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const span = view.v1 - view.v0;
    const actions = {
      "+": () => zoomAt(2, (view.v0 + view.v1) / 2),
      "=": () => zoomAt(2, (view.v0 + view.v1) / 2),
      "-": () => zoomAt(0.5, (view.v0 + view.v1) / 2),
      0: () => setView(0, axisLength()),
      ArrowLeft: () => panBy(-span / 5),
      ArrowRight: () => panBy(span / 5),
      ArrowUp: () => stepSelection(-1),
      ArrowDown: () => stepSelection(1),
      k: () => stepSelection(-1),
      j: () => stepSelection(1),
      Escape: () => { STATE.focus = null; refreshList(); },
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}

function selectFromAddress() {
  const match = /^#f(\d+):(\d+)$/.exec(location.hash);
  if (!match) return;
  const track = TRACKS[Number(match[1])];
  const i = track ? track.indexOfSeq(Number(match[2])) : -1;
  if (i >= 0) select(track, [i], null);
}

function start() {
  const app = document.getElementById("app");
  try {
    if (MODEL.format !== 1) throw new Error(`model format ${MODEL.format} is not the one this page reads`);
    if (MODEL.kind === "diff") app.classList.add("diff");
    prepareMarks();
    describeHeader();
    describeNotices();
    setUpFilters();
    findIdleGaps();
    compressIdle(true);
    view.v1 = axisLength();
    buildLanes();
    drawOverview();
    renderTimeline();
    refreshList();
    renderConversation();
    setUpZoom();
    setUpKeys();
    selectFromAddress();
    app.dataset.state = "ready";
  } catch (error) {
    app.dataset.state = "error";
    notice(`This page could not be drawn: ${error && error.stack ? error.stack : error}`, "bad");
    throw error;
  } finally {
    window.acpTapReadyAt = performance.now();
  }
}

start();
