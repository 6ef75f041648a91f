// text.js: building elements and text. Every string from a cassette reaches the page
// through textContent (appendText), never as markup.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) appendText(node, String(text));
  return node;
}

// Control characters and bidirectional overrides are shown as visible escapes, so that
// terminal escapes, NULs and "Trojan source" reorderings cannot disguise text.
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

function escapeChar(ch) {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
}

function escapeChar16(ch) {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

function visible(text) {
  return text.replace(HIDDEN, escapeChar);
}

function appendText(node, text) {
  let last = 0;
  HIDDEN.lastIndex = 0;
  for (let m = HIDDEN.exec(text); m; m = HIDDEN.exec(text)) {
    if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
    node.appendChild(el("span", "ctl")).textContent = escapeChar(m[0]);
    last = m.index + 1;
  }
  if (last < text.length) node.appendChild(document.createTextNode(last ? text.slice(last) : text));
  return node;
}

function thousands(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function plural(n, word) {
  return `${thousands(n)} ${word}${n === 1 ? "" : "s"}`;
}

function fmtTime(t) {
  return t === null || t === undefined ? "" : t.toFixed(3);
}

function fmtDuration(seconds) {
  if (seconds < 0.001) return `${(seconds * 1e6).toFixed(0)} µs`;
  if (seconds < 1) return `${(seconds * 1000).toFixed(1)} ms`;
  if (seconds < 120) return `${seconds.toFixed(2)} s`;
  return `${Math.floor(seconds / 60)} min ${(seconds % 60).toFixed(0)} s`;
}

function fmtSize(n) {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

function shortId(id) {
  const text = String(id);
  return text.length <= 12 ? text : text.slice(0, 8) + "…";
}

function clip(text, limit) {
  return text.length <= limit ? text : text.slice(0, limit - 1) + "…";
}

function compact(value, limit) {
  if (value === undefined) return "";
  return clip(JSON.stringify(value), limit);
}

// The same summaries as acp_tap/inspect/acp.py's block_text and blocks_text.
function blockText(block) {
  if (!block || typeof block !== "object") return "";
  const kind = block.type;
  if (kind === "text") return typeof block.text === "string" ? block.text : "";
  if (kind === "image" || kind === "audio") {
    const size = typeof block.data === "string" ? fmtSize(Math.floor((block.data.length * 3) / 4)) : "?";
    return `[${kind} ${block.mimeType || "?"} ${size}]`;
  }
  if (kind === "resource_link") return `[link ${block.name || block.uri || "?"}]`;
  if (kind === "resource") {
    const resource = block.resource && typeof block.resource === "object" ? block.resource : {};
    const body = typeof resource.text === "string" ? resource.text : resource.blob;
    const size = typeof body === "string" ? " " + fmtSize(new TextEncoder().encode(body).length) : "";
    return `[resource ${resource.uri || "?"}${size}]`;
  }
  return `[${kind}]`;
}

function blocksText(blocks) {
  if (Array.isArray(blocks)) return blocks.map(blockText).filter(Boolean).join("\n");
  return blocks && typeof blocks === "object" ? blockText(blocks) : "";
}

function globRegExp(globs) {
  const parts = globs.map((g) =>
    g.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".").replace(/\[!/g, "[^"));
  return parts.length ? new RegExp(`^(?:${parts.join("|")})$`) : null;
}
