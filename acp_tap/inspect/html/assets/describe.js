// describe.js: what the lanes, the conversation and the details say about a turn, a tool
// call, a permission request or a request: label, tooltip, classes and selection title.

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
