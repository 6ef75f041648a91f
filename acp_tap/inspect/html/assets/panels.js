// panels.js: the frame list (virtual: only visible rows exist), the details of a selection
// (frames pretty-printed with their seq numbers), and the conversation beside the lanes.

const ROW_PX = 18;
const DETAIL_FRAMES = 25; // frames pretty-printed at once in the details
const PRETTY_LIMIT = 256 * 1024; // characters of one frame shown (and highlighted) at most
const listNode = document.getElementById("frame-list");
const rowsNode = document.getElementById("frame-rows");
const detailsNode = document.getElementById("details");
const conversationNode = document.getElementById("conversation");
let listFrames = new Int32Array(0);
let listQueued = false;

// ---- the frame list

function refreshList() {
  const track = STATE.listTrack;
  const focus = STATE.focus && STATE.focus.track === track ? new Set(STATE.focus.frames) : null;
  const kept = [];
  for (let i = 0; i < track.length; i++) if ((!focus || focus.has(i)) && passes(track, i)) kept.push(i);
  listFrames = Int32Array.from(kept);
  rowsNode.style.height = `${listFrames.length * ROW_PX}px`;
  drawListHead();
  drawList();
}

function drawListHead() {
  const head = document.getElementById("frames-head");
  head.textContent = "";
  head.appendChild(el("span", "", "Frames"));
  if (TRACKS.length > 1) {
    const tabs = head.appendChild(el("span", "tabs"));
    for (const track of TRACKS) {
      const tab = tabs.appendChild(el("button", track === STATE.listTrack ? "active" : "", `${track.label}`));
      tab.type = "button";
      tab.title = track.name;
      tab.addEventListener("click", () => { STATE.listTrack = track; refreshList(); });
    }
  }
  const track = STATE.listTrack;
  head.appendChild(el("span", "chip", `${thousands(listFrames.length)} of ${plural(track.length, "frame")}`));
  if (STATE.focus && STATE.focus.track === track) {
    const chip = head.appendChild(el("button", "chip", `only: ${STATE.focus.title} ×`));
    chip.type = "button";
    chip.title = "show every frame again";
    chip.addEventListener("click", () => { STATE.focus = null; refreshList(); });
  }
}

function queueList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => { listQueued = false; drawList(); });
}

function drawList() {
  const track = STATE.listTrack;
  const top = listNode.scrollTop;
  const first = Math.max(0, Math.floor(top / ROW_PX) - 10);
  const last = Math.min(listFrames.length, Math.ceil((top + listNode.clientHeight) / ROW_PX) + 10);
  const selected = STATE.selection && STATE.selection.track === track ? new Set(STATE.selection.frames) : new Set();
  rowsNode.textContent = "";
  for (let k = first; k < last; k++) {
    const i = listFrames[k];
    const row = rowsNode.appendChild(el("div", "frow"));
    row.style.top = `${k * ROW_PX}px`;
    row.dataset.seq = String(track.seq[i]);
    row.dataset.index = String(k);
    if (selected.has(i)) row.classList.add("selected");
    if (track.problems.has(i)) row.classList.add("problem");
    if (track.marks && track.marks.has(i)) row.classList.add("marked");
    const dir = track.dirName(i);
    row.appendChild(el("span", "fseq", track.seq[i]));
    row.appendChild(el("span", "ft", fmtTime(track.t[i])));
    row.appendChild(el("span", `fdir ${dir}`, ARROWS[dir]));
    row.appendChild(el("span", "fsess", track.session[i] >= 0 ? shortId(track.sessions[track.session[i]]) : ""));
    const id = track.messageId(i);
    row.appendChild(el("span", "flabel", track.labelOf(i) + (id === undefined || id === null ? "" : ` #${shortId(id)}`)));
    const request = track.requestAt.get(i);
    if (request && request.res === i) row.appendChild(el("span", "flat", `+${fmtDuration(track.latency(request))}`));
    row.appendChild(el("span", "fsum", clip(track.summary(i).replace(/\s+/g, " "), 400)));
    row.addEventListener("click", () => select(track, [i], null, { from: "list" }));
  }
}

function scrollListTo(i) {
  const k = lowerBound(listFrames, i);
  if (k >= listFrames.length || listFrames[k] !== i) return;
  const top = k * ROW_PX;
  if (top < listNode.scrollTop || top + ROW_PX > listNode.scrollTop + listNode.clientHeight) {
    listNode.scrollTop = Math.max(0, top - listNode.clientHeight / 3);
  }
}

function lowerBound(array, value) {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (array[mid] < value) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function stepSelection(delta) {
  const sel = STATE.selection;
  if (!listFrames.length) return;
  let k = sel && sel.track === STATE.listTrack ? lowerBound(listFrames, sel.frames[0]) + delta : 0;
  k = Math.max(0, Math.min(listFrames.length - 1, k));
  select(STATE.listTrack, [listFrames[k]], null, { from: "keys" });
}

// ---- selection and details

function select(track, frames, what, options = {}) {
  STATE.selection = { track, frames, what };
  renderDetails();
  if (STATE.listTrack !== track) {
    STATE.listTrack = track;
    refreshList();
  }
  if (frames.length) {
    scrollListTo(frames[0]);
    reveal(track.t[frames[0]]);
    if (options.from !== "conversation") showTurnOf(track, frames[0]);
    try {
      history.replaceState(null, "", `#f${track.number}:${track.seq[frames[0]]}`);
    } catch (error) {
      // some browsers refuse to change the address of a file: page; the selection stands
    }
  }
  drawList();
  scheduleRender();
}

function selectExit(track) {
  detailsNode.textContent = "";
  document.getElementById("details-title").textContent = track.footer ? "Exit" : "No footer";
  const card = detailsNode.appendChild(el("div", "card"));
  const head = card.appendChild(el("div", "card-head"));
  head.appendChild(el("b", "", track.footer ? "footer (the last cassette line)" : "the recording was cut short"));
  const body = card.appendChild(el("pre"));
  if (track.footer) highlightJson(body, JSON.stringify(track.footer, null, 2));
  else body.textContent = "The cassette has no footer: the recorder was killed or the file was cut. Every frame before the cut is shown.";
}

function renderDetails() {
  const { track, frames, what } = STATE.selection;
  detailsNode.textContent = "";
  const title = document.getElementById("details-title");
  title.textContent = "";
  const prefix = TRACKS.length > 1 ? `${track.label}: ` : "";
  title.appendChild(el("span", "", prefix + (what ? what.title : `frame ${track.seq[frames[0]]}`)));
  if (frames.length) {
    const zoom = title.appendChild(el("button", "zoom-to", "zoom to it"));
    zoom.type = "button";
    zoom.title = "fit the timeline to these frames";
    zoom.addEventListener("click", () => zoomTo(track, frames));
  }
  if (frames.length > 1) {
    title.appendChild(el("span", "chip", plural(frames.length, "frame")));
    const list = title.appendChild(el("button", "", "list them"));
    list.type = "button";
    list.title = "show only these frames in the frame list";
    list.addEventListener("click", () => {
      STATE.focus = { track, frames, title: what ? clip(what.title, 40) : plural(frames.length, "frame") };
      STATE.listTrack = track;
      refreshList();
      scrollListTo(frames[0]);
    });
  }
  if (what && what.kind === "turn") {
    const all = track.turnFrames(what.turn);
    const button = title.appendChild(el("button", "", `list the turn's ${plural(all.length, "frame")}`));
    button.type = "button";
    button.addEventListener("click", () => {
      STATE.focus = { track, frames: all, title: what.title };
      STATE.listTrack = track;
      refreshList();
    });
  }
  for (const i of frames.slice(0, DETAIL_FRAMES)) detailsNode.appendChild(frameCard(track, i));
  if (frames.length > DETAIL_FRAMES) {
    detailsNode.appendChild(el("p", "hint", `…and ${plural(frames.length - DETAIL_FRAMES, "more frame")}: use "list them" to see every one in the frame list.`));
  }
}

function frameCard(track, i) {
  const card = el("div", "card");
  card.dataset.seq = String(track.seq[i]);
  const head = card.appendChild(el("div", "card-head"));
  const dir = track.dirName(i);
  head.appendChild(el("b", "", `frame ${track.seq[i]}`));
  head.appendChild(el("span", `${dir}-text`, `${ARROWS[dir]} ${dir}`));
  head.appendChild(el("span", "", `${fmtTime(track.t[i])} s`));
  const id = track.messageId(i);
  head.appendChild(el("span", "", track.labelOf(i) + (id === undefined || id === null ? "" : ` #${id}`)));
  if (track.session[i] >= 0) head.appendChild(el("span", "", `session ${track.sessions[track.session[i]]}`));
  const size = track.size(i);
  if (size !== null) head.appendChild(el("span", "", fmtSize(size)));
  const request = track.requestAt.get(i);
  if (request) {
    const other = request.req === i ? request.res : request.req;
    const latency = track.latency(request);
    if (other === undefined) head.appendChild(el("span", "", "never answered"));
    else {
      const text = request.req === i ? `answered in ${fmtDuration(latency)}: frame ${track.seq[other]}` : `answers frame ${track.seq[other]} after ${fmtDuration(latency)}`;
      const jump = head.appendChild(el("button", "", text));
      jump.type = "button";
      jump.addEventListener("click", () => select(track, [other], null));
    }
  }
  const mark = track.marks && track.marks.get(i);
  if (mark) card.appendChild(el("div", "mark-text", `${mark.kind}: ${mark.text}`));
  const body = card.appendChild(el("pre"));
  const content = track.content(i);
  if (content.omitted) body.textContent = "This frame's content was left out of the page (too large); read it with: acp-tap show";
  else if (content.broken !== undefined) appendText(body, content.broken);
  else if (content.text !== undefined) appendText(body, content.text);
  else if (content.b64 !== undefined) appendText(body, `not UTF-8; base64 of its bytes:\n${content.b64}`);
  else highlightJson(body, JSON.stringify(content.value, null, 2));
  return card;
}

const JSON_TOKENS = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

function highlightJson(node, text) {
  let shown = text;
  if (text.length > PRETTY_LIMIT) shown = text.slice(0, PRETTY_LIMIT);
  if (shown.length === text.length && text.length < PRETTY_LIMIT / 4) {
    let last = 0;
    for (const m of shown.matchAll(JSON_TOKENS)) {
      if (m.index > last) node.appendChild(document.createTextNode(shown.slice(last, m.index)));
      const kind = m[1] ? (m[2] ? "j-key" : "j-str") : /^[tfn]/.test(m[0]) ? "j-lit" : "j-num";
      appendText(node.appendChild(el("span", kind)), m[1] || m[0]);
      if (m[2]) node.appendChild(document.createTextNode(m[2]));
      last = m.index + m[0].length;
    }
    node.appendChild(document.createTextNode(shown.slice(last)));
  } else appendText(node, shown);
  if (shown.length < text.length) node.appendChild(el("span", "cut", `\n… ${fmtSize(text.length - shown.length)} more not shown`));
}

// ---- the conversation

const filled = new WeakSet();
const turnCards = new Map(); // turn -> card
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) if (entry.isIntersecting) fillTurn(entry.target);
}, { root: document.getElementById("conversation-pane"), rootMargin: "1500px 0px" });

function renderConversation() {
  conversationNode.textContent = "";
  if (MODEL.kind === "diff") {
    renderDiff();
    return;
  }
  const track = TRACKS[0];
  if (!track.turns.length) conversationNode.appendChild(el("p", "empty", "No prompt turns in this recording."));
  track.sessions.forEach((id, s) => {
    const head = conversationNode.appendChild(el("div", "session-head", `Session ${s + 1} `));
    head.dataset.session = id;
    head.addEventListener("click", () => {
      const lane = track.lanes.sessions[s];
      if (lane) selectLane(lane, `session ${s + 1} · ${shortId(id)}`);
    });
    head.appendChild(el("small", "", `${id} · ${plural(track.turnsBySession[s].length, "turn")}`));
    for (const turn of track.turnsBySession[s]) conversationNode.appendChild(turnCard(track, turn));
  });
}

function turnCard(track, turn) {
  const card = el("div", "turn");
  card.dataset.session = track.sessions[turn.session];
  card.dataset.turn = String(turn.n + 1);
  card.dataset.track = String(track.number);
  const outcome = turnOutcome(track, turn);
  const head = card.appendChild(el("div", "turn-head"));
  head.appendChild(el("b", "", `Turn ${turn.n + 1}${turn.origin === "load" ? " · session/load" : ""}`));
  head.appendChild(el("span", "", `${fmtTime(track.t[turn.start])} s · ${fmtDuration(track.turnEndTime(turn) - track.t[turn.start])}`));
  head.appendChild(el("span", outcome.bad ? "stop bad" : "stop", outcome.text));
  if (turn.cancel !== null) head.appendChild(el("span", "stop bad", "cancelled by the client"));
  head.addEventListener("click", () => {
    const described = describeTurn(track, turn);
    select(track, track.requestFrames(track.requestAt.get(turn.start)), described.what, { from: "conversation" });
  });
  card.turnRef = { track, turn };
  turnCards.set(turn, card);
  observer.observe(card);
  return card;
}

function fillTurn(card) {
  if (filled.has(card)) return;
  filled.add(card);
  observer.unobserve(card);
  const { track, turn } = card.turnRef;
  if (turn.origin === "prompt") {
    const prompt = card.appendChild(item("user", "user", track.promptText(turn)));
    prompt.dataset.seqs = String(track.seq[turn.start]);
    prompt.addEventListener("click", () => select(track, [turn.start], { title: "prompt", kind: "prompt" }, { from: "conversation" }));
  }
  for (const entry of track.turnItems(turn)) card.appendChild(turnItem(track, entry));
  if (turn.error) {
    const error = card.appendChild(item("error", "error", turn.error));
    error.dataset.seqs = String(track.seq[turn.end]);
    error.addEventListener("click", () => select(track, [turn.end], { title: "error", kind: "error" }, { from: "conversation" }));
  }
}

function item(className, who, text) {
  const node = el("div", `item ${className}`);
  node.appendChild(el("span", "who", who));
  appendText(node, text);
  return node;
}

function turnItem(track, entry) {
  let node;
  let what;
  if (entry.type === "text") {
    const who = entry.role === "user" ? "user (replayed)" : entry.role;
    node = item(entry.role, `${who} · ${plural(entry.frames.length, "chunk")}`, entry.text);
    if (entry.cut) node.appendChild(el("span", "cut", "\n… longer than the page shows here; the frames hold all of it"));
    what = { title: `${who} text, ${plural(entry.frames.length, "chunk")}`, kind: "text" };
  } else if (entry.type === "tool") {
    const described = describeTool(track, entry.tool);
    node = item(`tool ${described.classes[1]}`, "tool call", described.what.title.replace(/^tool call /, ""));
    node.dataset.tool = entry.tool.id;
    what = described.what;
  } else if (entry.type === "perm") {
    const described = describePermission(track, entry.permission);
    node = item("perm", "permission", "");
    node.dataset.tool = entry.permission.tool || "";
    appendText(node, described.what.title.replace(/: [^:]*$/, "") + " ");
    for (const option of entry.permission.options) {
      const chosen = option[0] === entry.permission.chosen;
      const chip = node.appendChild(el("span", chosen ? "option chosen" : "option", `${chosen ? "✓ " : ""}${option[1]}`));
      chip.title = `${option[0]} (${option[2]})`;
    }
    if (!entry.permission.chosen) node.appendChild(el("span", "option", described.label.replace(/^.*: /, "")));
    what = described.what;
  } else if (entry.type === "plan") {
    node = item("plan", "plan", entry.text);
    what = { title: "plan", kind: "plan" };
  } else if (entry.type === "error") {
    node = item("error", "error", entry.text);
    what = { title: "error", kind: "error" };
  } else {
    node = item("cancel", "cancel", "session/cancel: the client cancelled the turn");
    what = { title: "session/cancel", kind: "cancel" };
  }
  node.dataset.seqs = entry.frames.map((i) => track.seq[i]).join(" ");
  node.addEventListener("click", () => select(track, entry.frames, what, { from: "conversation" }));
  return node;
}

function showTurnOf(track, i) {
  const turn = track.turnAt(i);
  for (const card of conversationNode.querySelectorAll(".turn.selected")) card.classList.remove("selected");
  const card = turn && turnCards.get(turn);
  if (!card) return;
  card.classList.add("selected");
  card.scrollIntoView({ block: "nearest" });
}

// ---- diff: two conversations side by side, aligned by turn

function renderDiff() {
  const [a, b] = TRACKS;
  const box = document.getElementById("differences");
  box.textContent = "";
  const changes = MODEL.changes;
  box.appendChild(el("div", "diffs-head", changes.length
    ? `${plural(changes.length, "difference")} between ${a.label} and ${b.label}`
    : "No differences: the conversations are the same (ids, timing and chunking aside)."));
  const inRows = new Set(MODEL.rows.flatMap((row) => row.changes));
  changes.forEach((change, k) => {
    if (inRows.has(k)) return;
    box.appendChild(el("div", "change")).appendChild(el("pre", "", change.text));
  });
  const columns = conversationNode.appendChild(el("div", "columns-head"));
  columns.appendChild(el("div", "", `${a.label}: ${a.name}`));
  columns.appendChild(el("div", "", `${b.label}: ${b.name}`));
  if (!MODEL.rows.length) conversationNode.appendChild(el("p", "empty", "No prompt turns in either recording."));
  for (const row of MODEL.rows) {
    const node = conversationNode.appendChild(el("div", row.changes.length ? "diff-row changed" : "diff-row"));
    node.dataset.session = String(row.session);
    node.dataset.turn = String(row.turn);
    node.appendChild(el("div", "row-title", `session ${row.session} · turn ${row.turn}${row.changes.length ? ` · ${plural(row.changes.length, "difference")}` : ""}`));
    for (const [track, seq] of [[a, row.a], [b, row.b]]) {
      const turn = seq === null ? null : track.turnOfRequest.get(track.indexOfSeq(seq));
      node.appendChild(turn ? turnCard(track, turn) : el("div", "absent", `not in ${track.label}`));
    }
    for (const k of row.changes) node.appendChild(el("div", "change")).appendChild(el("pre", "", changes[k].text));
  }
}
