// The chat page: streams replies from /v1/chat/completions (server-sent events read with
// fetch), keeps the conversation in the server's history (/history), and shows the
// container's limits (/container). Without JavaScript the form posts to /chat instead.
"use strict";

const MAX_MESSAGE_BYTES = 64 * 1024; // the server's limit (chat_template.h)
const $ = (id) => document.getElementById(id);
const state = { messages: [], busy: false, lastCpu: null };

function showError(msg) {
  const box = $("error");
  box.textContent = msg;
  box.hidden = !msg;
}

function addMessage(role, content, stats) {
  const empty = $("messages").querySelector(".empty");
  if (empty) empty.remove();
  const div = document.createElement("div");
  div.className = "msg " + role;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Model";
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = content;
  div.append(who, text);
  if (stats) setStats(div, stats);
  $("messages").append(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

function setStats(div, text) {
  let s = div.querySelector(".stats");
  if (!s) {
    s = document.createElement("div");
    s.className = "stats";
    div.append(s);
  }
  s.textContent = text;
}

function statsText(tokens, tps, firstMs, totalMs) {
  const parts = [tokens + " tokens", tps.toFixed(1) + " tokens/s"];
  if (firstMs != null) parts.push("first token " + Math.round(firstMs) + " ms");
  parts.push(Math.round(totalMs) + " ms");
  return parts.join(" \u00b7 ");
}

function renderHistory(messages) {
  $("messages").textContent = "";
  state.messages = [];
  for (const m of messages) {
    const stats = m.role === "assistant" && typeof m.tokens_per_second === "number"
      ? statsText(m.tokens || 0, m.tokens_per_second, null, m.latency_ms || 0) : null;
    addMessage(m.role, m.content, stats);
    state.messages.push({ role: m.role, content: m.content });
  }
  if (!messages.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No messages yet. Ask for a story.";
    $("messages").append(p);
  }
}

// The message of a JSON error body ({"error":{"message"}}), or the HTTP status.
async function errorOf(resp) {
  const text = await resp.text();
  try {
    const j = JSON.parse(text);
    if (j && j.error && j.error.message) return j.error.message + " (HTTP " + resp.status + ")";
  } catch (e) { /* not JSON: fall through */ }
  return "HTTP " + resp.status + " " + resp.statusText + (text ? ": " + text.slice(0, 200) : "");
}

async function loadHistory() {
  try {
    const resp = await fetch("/history");
    if (!resp.ok) throw new Error(await errorOf(resp));
    const h = await resp.json();
    renderHistory(h.messages || []);
    if (h.warning) showError(h.warning);
  } catch (e) {
    showError("Could not load the chat history: " + e.message);
  }
}

function number(id, integer) {
  const v = $(id).value.trim();
  if (v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new Error(id + " must be a number, not '" + v + "'");
  return n;
}

function requestBody(prompt) {
  const body = {
    messages: state.messages.concat([{ role: "user", content: prompt }]),
    stream: true,
    save_history: true,
    temperature: number("temperature", false),
    top_k: number("top_k", true),
    top_p: number("top_p", false),
    max_tokens: number("n_predict", true),
    seed: number("seed", true),
  };
  return body;
}

// Reads a server-sent-event stream, calling onEvent with each parsed `data:` JSON.
async function readEvents(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at;
    while ((at = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, at);
      buf = buf.slice(at + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function send(prompt) {
  showError("");
  const bytes = new TextEncoder().encode(prompt).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    showError("The message is " + bytes + " bytes, the limit is " + MAX_MESSAGE_BYTES + ".");
    return;
  }
  let body;
  try {
    body = requestBody(prompt);
  } catch (e) {
    showError(e.message);
    return;
  }
  state.busy = true;
  $("send").disabled = true;
  const userDiv = addMessage("user", prompt);
  const replyDiv = addMessage("assistant", "");
  replyDiv.classList.add("streaming");
  const text = replyDiv.querySelector(".text");
  const t0 = performance.now();
  let firstMs = null, final = null, content = "", pieces = 0;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw new Error(await errorOf(resp));
    await readEvents(resp, (ev) => {
      if (ev.error) throw new Error(ev.error.message || "server error");
      const choice = ev.choices && ev.choices[0];
      if (!choice) return;
      const piece = choice.delta && choice.delta.content;
      if (piece) {
        if (firstMs === null) firstMs = performance.now() - t0;
        pieces++;
        content += piece;
        text.textContent = content;
        replyDiv.scrollIntoView({ block: "end" });
      }
      if (choice.finish_reason) final = ev;
    });
    if (!final) throw new Error("the reply stream ended early");
    const totalMs = performance.now() - t0;
    const t = final.timings || {};
    const line = statsText(final.usage ? final.usage.completion_tokens : 0, t.predicted_per_second || 0, firstMs, totalMs);
    setStats(replyDiv, line);
    $("stats").textContent = "last reply: " + line;
    if (!content) text.textContent = "(no text: the model ended its turn at once)";
    replyDiv.dataset.pieces = String(pieces); // server-sent events with text (the tests read it)
    replyDiv.dataset.done = "1";
    state.messages.push({ role: "user", content: prompt }, { role: "assistant", content: content });
    if (final.history_error) showError(final.history_error);
    $("prompt").value = "";
  } catch (e) {
    // The exchange did not happen: take it off the page, keep the prompt for another try.
    userDiv.remove();
    replyDiv.remove();
    showError(e.message === "Failed to fetch" || e.name === "TypeError" ? "Network error: " + e.message : e.message);
  } finally {
    replyDiv.classList.remove("streaming");
    state.busy = false;
    $("send").disabled = false;
  }
}

function fmtBytes(n) {
  if (n == null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + units[i];
}

function meter(label, used, limit, fmt) {
  const row = document.createElement("div");
  row.className = "meter";
  const name = document.createElement("span");
  name.textContent = label;
  const bar = document.createElement("div");
  bar.className = "bar";
  const fill = document.createElement("span");
  fill.style.width = limit ? Math.min(100, (100 * used) / limit).toFixed(1) + "%" : "0%";
  bar.append(fill);
  const value = document.createElement("span");
  value.textContent = fmt(used) + " / " + (limit == null ? "unlimited" : fmt(limit));
  row.append(name, bar, value);
  return row;
}

async function loadContainer() {
  const box = $("container-body");
  try {
    const resp = await fetch("/container");
    if (!resp.ok) throw new Error(await errorOf(resp));
    const c = await resp.json();
    box.textContent = "";
    if (!c.in_container) {
      box.textContent = c.message || "not in a container";
      return;
    }
    const mem = c.memory || {}, cpu = c.cpu || {}, pids = c.pids || {};
    if (mem.usage_bytes != null) box.append(meter("memory", mem.usage_bytes, mem.limit_bytes, fmtBytes));
    if (cpu.usage_usec != null) {
      // CPU use between two polls, in CPUs, against the quota.
      const now = performance.now();
      let cpus = 0;
      if (state.lastCpu) cpus = (cpu.usage_usec - state.lastCpu.usec) / ((now - state.lastCpu.at) * 1000);
      state.lastCpu = { usec: cpu.usage_usec, at: now };
      box.append(meter("cpu", Math.max(0, cpus), cpu.limit_cpus, (x) => x.toFixed(2) + " CPUs"));
    }
    if (pids.current != null) box.append(meter("pids", pids.current, pids.limit, String));
    const note = document.createElement("div");
    note.className = "stats";
    note.textContent = c.message;
    box.append(note);
  } catch (e) {
    box.textContent = "unavailable: " + e.message;
  }
}

async function pollHealth() {
  const badge = $("status");
  try {
    const resp = await fetch("/health");
    if (resp.ok) {
      badge.textContent = "model ready";
      badge.className = "badge ok";
      return;
    }
    badge.textContent = resp.status === 503 ? "loading the model\u2026" : await errorOf(resp);
    badge.className = resp.status === 503 ? "badge loading" : "badge down";
  } catch (e) {
    badge.textContent = "server unreachable";
    badge.className = "badge down";
  }
  setTimeout(pollHealth, 1000);
}

// The conversation so far, asked for once as the page loads. A message sent before it has
// come waits for it: sent without it, the reply would lack the earlier exchanges as context,
// and the history arriving after the reply would wipe the new exchange off the page.
const historyLoaded = loadHistory();

$("chat-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const prompt = $("prompt").value;
  if (state.busy) return;
  if (!prompt.trim()) {
    showError("The message is empty.");
    return;
  }
  state.busy = true; // a second Enter while the history loads sends nothing more
  await historyLoaded;
  state.busy = false;
  send(prompt);
});
$("prompt").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("chat-form").requestSubmit();
  }
});
$("clear").hidden = false;
$("clear").addEventListener("click", async () => {
  await historyLoaded; // else the history, arriving later, would put the cleared exchanges back
  showError("");
  try {
    const resp = await fetch("/history", { method: "DELETE" });
    if (!resp.ok) throw new Error(await errorOf(resp));
    renderHistory([]);
    $("stats").textContent = "";
  } catch (e) {
    showError("Could not clear the history: " + e.message);
  }
});

pollHealth();
loadContainer();
setInterval(loadContainer, 3000);
