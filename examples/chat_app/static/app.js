// The chat page: POST the conversation, read the relay's text/event-stream body with
// fetch + ReadableStream, and render each named event as it arrives. Stop aborts the fetch
// (AbortController); the relay notices the closed connection and closes the upstream stream.
"use strict";

const $ = (id) => document.getElementById(id);
const log = $("log");
const form = $("composer");
const prompt = $("prompt");
const sendButton = $("send");
const stopButton = $("stop");
const modelInput = $("model");
const statusLine = $("status");

const history = []; // [{role, content}] sent with every request
let controller = null; // the AbortController of the request in flight

// --- server-sent events ------------------------------------------------------------------

// Parse a text/event-stream body incrementally: feed() text, get {event, data} objects back.
// Comment lines (": heartbeat") are skipped; CR LF, LF and CR line endings are accepted.
function sseParser() {
  let buffer = "";
  let event = "message";
  let data = [];
  return function feed(text) {
    buffer += text;
    const out = [];
    let match;
    // A CR at the very end might be the first half of CR LF: wait for more.
    const re = /\r\n|\r(?!$)|\n/g;
    let start = 0;
    while ((match = re.exec(buffer)) !== null) {
      const line = buffer.slice(start, match.index);
      start = re.lastIndex;
      if (line === "") {
        if (data.length) out.push({ event, data: data.join("\n") });
        event = "message";
        data = [];
      } else if (line.startsWith(":")) {
        continue;
      } else {
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
    buffer = buffer.slice(start);
    return out;
  };
}

// --- rendering ---------------------------------------------------------------------------

function scrollDown() {
  log.scrollTop = log.scrollHeight;
}

function addUserMessage(text) {
  $("empty")?.remove();
  const el = document.createElement("article");
  el.className = "message user";
  el.dataset.role = "user";
  el.textContent = text;
  log.append(el);
}

function addAssistantMessage() {
  const el = $("assistant-template").content.firstElementChild.cloneNode(true);
  log.append(el);
  scrollDown();
  return {
    el,
    content: el.querySelector(".content"),
    reasoning: el.querySelector(".reasoning"),
    reasoningText: el.querySelector(".reasoning-text"),
    tools: el.querySelector(".tools"),
    error: el.querySelector(".error"),
    meta: el.querySelector(".meta"),
    text: "",
    collapsed: false,
  };
}

function setBusy(busy) {
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
}

function showError(view, payload) {
  const code = payload.code !== null && payload.code !== undefined ? `${payload.code} ` : "";
  view.error.textContent = `Error ${code}— ${payload.message}`;
  view.error.hidden = false;
  view.el.dataset.state = "error";
}

function handleEvent(view, name, payload) {
  switch (name) {
    case "text":
      view.text += payload.text;
      view.content.append(payload.text);
      if (!view.reasoning.hidden && !view.collapsed) {
        view.reasoning.open = false; // once, when the answer begins; the user may reopen it
        view.collapsed = true;
      }
      break;
    case "reasoning":
      if (view.reasoning.hidden) {
        view.reasoning.hidden = false;
        view.reasoning.open = true;
      }
      view.reasoningText.append(payload.text);
      break;
    case "refusal":
      view.content.append(payload.text);
      break;
    case "tool_call": {
      const call = document.createElement("div");
      call.className = "tool-call";
      call.textContent = `🔧 ${payload.name}(${payload.arguments})`;
      view.tools.append(call);
      break;
    }
    case "finish":
      view.finishReason = payload.finish_reason;
      break;
    case "usage": {
      const cost = payload.cost !== null ? ` · $${payload.cost.toFixed(6)}` : "";
      view.usage = `${payload.prompt_tokens} prompt + ${payload.completion_tokens} completion tokens${cost}`;
      break;
    }
    case "error":
      showError(view, payload);
      break;
    case "done":
      view.el.dataset.state = "done";
      break;
    default:
      break; // tool_call_delta, annotations, images: not shown by this page
  }
}

// --- sending -----------------------------------------------------------------------------

async function send(text) {
  addUserMessage(text);
  history.push({ role: "user", content: text });
  const view = addAssistantMessage();
  controller = new AbortController();
  setBusy(true);
  statusLine.textContent = "Streaming…";
  const started = performance.now();
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ model: modelInput.value.trim(), messages: history }),
      signal: controller.signal,
    });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
      showError(view, { code: response.status, message });
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const feed = sseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const { event, data } of feed(value)) {
        handleEvent(view, event, JSON.parse(data));
      }
      scrollDown();
    }
    if (view.el.dataset.state === "streaming") {
      showError(view, { code: null, message: "the connection ended before the answer did" });
    }
  } catch (err) {
    if (err.name === "AbortError") {
      view.el.dataset.state = "stopped";
    } else {
      showError(view, { code: null, message: String(err.message || err) });
    }
  } finally {
    controller = null;
    setBusy(false);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const state = view.el.dataset.state;
    const parts = [state === "done" ? `done in ${seconds}s` : state];
    if (view.finishReason) parts.push(`finish: ${view.finishReason}`);
    if (view.usage) parts.push(view.usage);
    view.meta.textContent = parts.join(" · ");
    statusLine.textContent = state === "stopped" ? "Stopped." : "";
    if (view.text) history.push({ role: "assistant", content: view.text });
    scrollDown();
    prompt.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = prompt.value.trim();
  if (!text || controller) return;
  prompt.value = "";
  send(text);
});

prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stopButton.addEventListener("click", () => {
  if (controller) controller.abort();
});

// --- start -------------------------------------------------------------------------------

(async () => {
  try {
    const config = await (await fetch("/api/config")).json();
    $("backend").textContent = config.backend === "emulator" ? "emulator" : "OpenRouter";
    const list = $("models");
    for (const id of config.models) {
      const option = document.createElement("option");
      option.value = id;
      list.append(option);
    }
    if (!modelInput.value) modelInput.value = config.models[0];
  } catch (err) {
    statusLine.textContent = `Could not load the configuration: ${err}`;
  }
  document.body.dataset.ready = "true";
  prompt.focus();
})();
