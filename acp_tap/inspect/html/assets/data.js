// data.js: the model and the tracks: frames as columns, their contents read on demand
// from the page's JSON chunks, and what a turn is made of.

const MODEL = JSON.parse(document.getElementById("acp-model").textContent);
const CHUNK_ROLES = { agent_message_chunk: "agent", agent_thought_chunk: "thought", user_message_chunk: "user" };
const FINAL_STATUSES = new Set(["completed", "failed"]);
const ARROWS = { c2a: "→", a2c: "←", err: "!" };
const PARSED_CACHE = 2000; // parsed frames kept
const TEXT_CAP = 200000; // characters of one run of joined text shown at most

class Track {
  constructor(model, number) {
    this.model = model;
    this.number = number;
    this.label = model.label;
    this.name = model.name;
    const f = model.frames;
    const n = f.seq.length;
    this.length = n;
    this.seq = new Float64Array(n);
    this.t = new Float64Array(n);
    this.dir = Uint8Array.from(f.dir);
    this.kind = Uint8Array.from(f.kind);
    this.nameOf = Int32Array.from(f.name);
    this.session = Int32Array.from(f.session);
    let seq = 0;
    let micros = 0;
    let sorted = true;
    this.timeSorted = true;
    for (let i = 0; i < n; i++) {
      seq += f.seq[i];
      micros += f.t[i];
      if (i && seq <= this.seq[i - 1]) sorted = false;
      if (f.t[i] < 0) this.timeSorted = false;
      this.seq[i] = seq;
      this.t[i] = micros / 1e6;
    }
    this.bySeq = sorted ? null : new Map(Array.from(this.seq, (s, i) => [s, i]));
    this.dirs = model.dirs;
    this.kinds = model.kinds;
    this.names = model.names;
    this.sessions = model.sessions;
    this.problems = new Set(model.problems);
    this.requests = model.requests;
    this.turns = model.turns;
    this.tools = model.tools;
    this.permissions = model.permissions;
    this.footer = model.footer;
    this.header = model.header;
    this.requestAt = new Map(); // frame index (request or response) -> request
    for (const r of this.requests) {
      this.requestAt.set(r.req, r);
      if (r.res !== undefined) this.requestAt.set(r.res, r);
    }
    this.toolAt = new Map();
    for (const tool of this.tools) for (const i of tool.frames) this.toolAt.set(i, tool);
    this.permissionOf = new Map(this.permissions.map((p) => [this.requests[p.request], p]));
    this.turnOfRequest = new Map(this.turns.map((turn) => [turn.start, turn]));
    this.turnsBySession = this.sessions.map(() => []);
    for (const turn of this.turns) this.turnsBySession[turn.session].push(turn);
    for (const list of this.turnsBySession) {
      list.forEach((turn, k) => { turn.next = list[k + 1] || null; });
    }
    this.turns.forEach((turn, k) => { turn.number = k; turn.track = this; });
    this.tools.forEach((tool, k) => { tool.number = k; });
    this.requests.forEach((r, k) => { r.number = k; });
    const last = n ? this.t[n - 1] : 0;
    this.duration = Math.max(last, this.footer ? this.footer.t : 0, 1e-6);
    this.payload = new Uint8Array(n); // 0 JSON, 1 text, 2 base64, 3 left out
    const content = model.content;
    for (const i of content.text) this.payload[i] = 1;
    for (const i of content.b64) this.payload[i] = 2;
    for (const i of content.omitted) this.payload[i] = 3;
    this.chunkStarts = [];
    let start = 0;
    for (const count of content.chunks) { this.chunkStarts.push(start); start += count; }
    this.chunkNodes = Array.from(document.querySelectorAll(`script.acp-frames[data-track="${number}"]`));
    this.chunkText = [];
    this.chunkLines = [];
    this.parsed = new Map();
  }

  indexOfSeq(seq) {
    if (this.bySeq) return this.bySeq.has(seq) ? this.bySeq.get(seq) : -1;
    let lo = 0;
    let hi = this.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.seq[mid] === seq) return mid;
      if (this.seq[mid] < seq) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }

  // The index of the last frame at or before time t (-1 if none).
  indexAtTime(t) {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  dirName(i) { return this.dirs[this.dir[i]]; }
  kindName(i) { return this.kinds[this.kind[i]]; }
  method(i) { const k = this.nameOf[i]; return k < 0 ? null : this.names[k][0]; }
  update(i) { const k = this.nameOf[i]; return k < 0 ? null : this.names[k][1]; }
  sessionId(i) { const s = this.session[i]; return s < 0 ? null : this.sessions[s]; }

  // The frame's content as it is embedded: JSON text (or a JSON string), null if left out.
  raw(i) {
    if (this.payload[i] === 3) return null;
    let chunk = 0;
    let lo = 0;
    let hi = this.chunkStarts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.chunkStarts[mid] <= i) { chunk = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (this.chunkText[chunk] === undefined) this.indexChunk(chunk);
    const text = this.chunkText[chunk];
    const lines = this.chunkLines[chunk];
    const k = i - this.chunkStarts[chunk];
    let end = lines[k + 1] - 1; // the newline before the next line
    if (text.charCodeAt(end - 1) === 44) end -= 1; // the "," between frames
    return text.slice(lines[k], end);
  }

  indexChunk(chunk) {
    const text = this.chunkNodes[chunk].textContent;
    const count = this.model.content.chunks[chunk];
    const lines = new Int32Array(count + 1);
    let at = 2; // after "[\n"
    for (let k = 0; k < count; k++) {
      lines[k] = at;
      at = text.indexOf("\n", at) + 1;
    }
    lines[count] = at;
    this.chunkText[chunk] = text;
    this.chunkLines[chunk] = lines;
  }

  // Which frames' content holds ``text`` (any case), as JSON or inside a JSON string: a
  // mask, one byte per frame. The content is searched as it is embedded, so the text is
  // escaped the same way first.
  matching(text) {
    const mask = new Uint8Array(this.length);
    const forms = new Set([text, JSON.stringify(text).slice(1, -1)]); // as JSON, or inside a string
    const literal = (form) => form.replace(/[<>&\u2028\u2029]/g, escapeChar16).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp([...forms].map(literal).join("|"), "gi");
    for (let chunk = 0; chunk < this.chunkStarts.length; chunk++) {
      if (this.chunkText[chunk] === undefined) this.indexChunk(chunk);
      const body = this.chunkText[chunk];
      const lines = this.chunkLines[chunk];
      pattern.lastIndex = 0;
      const count = lines.length - 1;
      for (let found = pattern.exec(body); found; found = pattern.exec(body)) {
        const k = lowerBound(lines, found.index + 1) - 1; // the line the match starts on
        if (k < 0 || k >= count) continue;
        let end = lines[k + 1] - 1; // the line's newline, after its "," if not the last
        if (body.charCodeAt(end - 1) === 44) end -= 1;
        if (found.index + found[0].length <= end) mask[this.chunkStarts[chunk] + k] = 1;
        pattern.lastIndex = Math.max(pattern.lastIndex, lines[k + 1]);
      }
    }
    return mask;
  }

  size(i) {
    const raw = this.raw(i);
    return raw === null ? null : raw.length;
  }

  // The decoded frame: {value} for JSON, {text} for a text line, {b64}, or {omitted}.
  content(i) {
    const cached = this.parsed.get(i);
    if (cached) return cached;
    const raw = this.raw(i);
    let content;
    if (raw === null) content = { omitted: true };
    else {
      try {
        const value = JSON.parse(raw);
        content = this.payload[i] === 1 ? { text: value } : this.payload[i] === 2 ? { b64: value } : { value };
      } catch (error) {
        content = { broken: raw, error: String(error) };
      }
    }
    if (this.parsed.size >= PARSED_CACHE) this.parsed.delete(this.parsed.keys().next().value);
    this.parsed.set(i, content);
    return content;
  }

  value(i) {
    const c = this.content(i);
    return c.value === undefined ? null : c.value;
  }

  // Like acp-tap show's label: the method, the update kind, or what a response answers.
  labelOf(i) {
    const kind = this.kindName(i);
    if (kind === "stderr" || kind === "invalid") return kind;
    const update = this.update(i);
    if (update) return CHUNK_ROLES[update] || update;
    const method = this.method(i) || "(unknown request)";
    return kind === "result" || kind === "error" ? `${method} ${kind}` : method;
  }

  messageId(i) {
    const value = this.value(i);
    return value && typeof value === "object" && "id" in value ? value.id : undefined;
  }

  summary(i) {
    const c = this.content(i);
    if (c.omitted) return "(content left out of the page: too large)";
    if (c.broken !== undefined) return c.broken;
    if (c.text !== undefined) return c.text;
    if (c.b64 !== undefined) return `(not UTF-8: ${fmtSize(Math.floor((c.b64.length * 3) / 4))})`;
    const value = c.value;
    if (!value || typeof value !== "object") return compact(value, 300);
    const kind = this.kindName(i);
    if (kind === "error") {
      const e = value.error || {};
      return `error ${e.code}: ${e.message}${e.data === undefined ? "" : " " + compact(e.data, 200)}`;
    }
    if (kind === "result") return compact(value.result, 300);
    const params = value.params && typeof value.params === "object" ? { ...value.params } : value.params;
    const update = params && params.update;
    if (this.update(i) && update && typeof update === "object") {
      if (CHUNK_ROLES[update.sessionUpdate]) return blockText(update.content);
      if (update.sessionUpdate === "tool_call" || update.sessionUpdate === "tool_call_update") {
        return [update.toolCallId, update.title, update.kind && `(${update.kind})`, update.status].filter(Boolean).join(" ");
      }
      const rest = { ...update };
      delete rest.sessionUpdate;
      return compact(rest, 300);
    }
    if (params && typeof params === "object" && this.method(i) === "session/prompt") return blocksText(params.prompt);
    if (params && typeof params === "object") delete params.sessionId;
    return compact(params, 300);
  }

  // The frames of one turn: its session's frames from the request to the response.
  turnFrames(turn) {
    const last = turn.end !== null ? turn.end : turn.next ? turn.next.start - 1 : this.length - 1;
    const frames = [];
    for (let i = turn.start; i <= last; i++) if (this.session[i] === turn.session) frames.push(i);
    return frames;
  }

  turnEndTime(turn) {
    if (turn.end !== null) return this.t[turn.end];
    const frames = this.turnFrames(turn);
    return Math.max(this.t[frames[frames.length - 1]], this.footer ? this.footer.t : 0);
  }

  // The turn a frame belongs to (its session's turn running at that frame), or null.
  turnAt(i) {
    const s = this.session[i];
    if (s < 0) return null;
    let found = null;
    for (const turn of this.turnsBySession[s]) {
      if (turn.start > i) break;
      found = turn;
    }
    if (!found) return null;
    if (found.end !== null && found.end < i) return null;
    return found;
  }

  promptText(turn) {
    if (turn.prompt === undefined) {
      const value = this.value(turn.start);
      turn.prompt = value && value.params ? blocksText(value.params.prompt) : "";
    }
    return turn.prompt;
  }

  // What happened in a turn, in order: runs of joined text, tool calls, permissions, plans,
  // errors and the cancel, each with the frames behind it.
  turnItems(turn) {
    const items = [];
    let run = null;
    const seenTools = new Set();
    for (const i of this.turnFrames(turn)) {
      const update = this.update(i);
      const role = update && CHUNK_ROLES[update];
      if (role) {
        const value = this.value(i);
        const text = value && value.params && value.params.update ? blockText(value.params.update.content) : "";
        if (run && run.role === role) {
          run.frames.push(i);
          if (run.text.length < TEXT_CAP) run.text += text; else run.cut = true;
        } else {
          run = { type: "text", role, text, frames: [i], cut: false };
          items.push(run);
        }
        continue;
      }
      if (this.kindName(i) === "stderr") continue;
      run = null;
      const tool = this.toolAt.get(i);
      if (tool && !seenTools.has(tool)) {
        seenTools.add(tool);
        items.push({ type: "tool", tool, frames: tool.frames });
      } else if (update === "plan") {
        const value = this.value(i);
        const entries = value && value.params && value.params.update && value.params.update.entries;
        const marks = { completed: "[x]", in_progress: "[~]" };
        const lines = Array.isArray(entries)
          ? entries.map((e) => `${marks[e && e.status] || "[ ]"} ${e && e.content}`) : [];
        items.push({ type: "plan", text: lines.join("\n") || "(empty plan)", frames: [i] });
      }
      const request = this.requestAt.get(i);
      if (request && request.req === i) {
        const permission = this.permissionOf.get(request);
        if (permission) items.push({ type: "perm", permission, request, frames: this.requestFrames(request) });
      }
      if (this.kindName(i) === "error" && i !== turn.end) {
        items.push({ type: "error", text: this.summary(i), frames: [i] });
      }
      if (i === turn.cancel) items.push({ type: "cancel", frames: [i] });
    }
    return items;
  }

  requestFrames(request) {
    return request.res === undefined ? [request.req] : [request.req, request.res];
  }

  latency(request) {
    return request.res === undefined ? null : this.t[request.res] - this.t[request.req];
  }
}

const TRACKS = MODEL.tracks.map((t, k) => new Track(t, k));
