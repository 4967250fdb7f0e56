// The Chat section: a conversation with a prompt over `/conversations`, its state watched live.

import { api, enc, listen, listRunnables, runnableLabel } from "./api.js";
import { asText, autoGrow, fill, h, nextId, statusPill, toast } from "./dom.js";
import { errorText } from "./output.js";
import { structuredBlock, toolCallList, toolExchanges } from "./tools.js";

const CHAT_KEY = "rb.chat";
const BUSY = new Set(["pending", "running", "executing", "streaming", "awaiting_approval"]);

function messageText(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && p.type === "text" ? p.text : asText(p))).join("\n");
  return asText(content);
}

export async function mount(main, params, app) {
  const promptId = nextId("chat-prompt");
  const promptSelect = h("select", { id: promptId, "data-testid": "chat-prompt" });
  const varsBox = h("div", { class: "ports" });
  const transcript = h("ol", { class: "transcript", "data-testid": "transcript", "aria-live": "polite", "aria-label": "Conversation" });
  const pillSlot = h("span", {}, statusPill("idle"));
  const errorBox = h("div", { class: "banner banner-error", role: "alert", hidden: true });
  const composerId = nextId("composer");
  const composer = autoGrow(h("textarea", {
    id: composerId,
    class: "composer-input",
    rows: 2,
    placeholder: "Write a message… (Enter to send, Shift+Enter for a new line)",
    "data-testid": "chat-input",
  }));
  const sendButton = h("button", { type: "submit", class: "button primary", "data-testid": "chat-send" }, "Send");
  const stopButton = h("button", { type: "button", class: "button", "data-testid": "chat-stop", disabled: true, onclick: () => stop() }, "Stop");
  const newButton = h("button", { type: "button", class: "button ghost", "data-testid": "chat-new", onclick: () => reset() }, "New conversation");

  fill(
    main,
    h(
      "div",
      { class: "view chat-view" },
      h(
        "aside",
        { class: "sidebar" },
        h("h2", { class: "section-title" }, "Chat"),
        h("div", { class: "field" }, h("label", { for: promptId }, "Prompt"), promptSelect),
        h("h3", { class: "subsection-title" }, "Variables"),
        varsBox,
        newButton,
      ),
      h(
        "section",
        { class: "chat-main", "aria-label": "Conversation" },
        h("div", { class: "chat-head" }, h("h2", { class: "section-title" }, "Conversation"), pillSlot),
        errorBox,
        transcript,
        h(
          "form",
          { class: "composer", onsubmit: (e) => { e.preventDefault(); send(); } },
          h("label", { class: "visually-hidden", for: composerId }, "Message"),
          composer,
          h("div", { class: "button-row" }, stopButton, sendButton),
        ),
      ),
    ),
  );

  let conversation = null; // {instance_id, ref}
  let watch = null;
  let state = null;
  const variables = new Map();

  function renderState(next) {
    state = next;
    const status = next?.status || "idle";
    fill(pillSlot, statusPill(status));
    const busy = BUSY.has(status);
    stopButton.disabled = !busy;
    sendButton.disabled = busy;
    app.setBusy(busy);
    const messages = (next?.messages || []).filter((m) => m.role !== "system");
    // While a reply streams, the conversation holds it as its last (assistant) message.
    const streaming = busy && messages.at(-1)?.role === "assistant" && !messages.at(-1)?.tool_calls;
    // A call's answer is shown on the call's card, not as a message of its own.
    const calls = new Map(toolExchanges(messages).map((call) => [call.id, call]));
    const awaitingIds = new Set((next?.awaiting || []).map((call) => call.id));
    const items = [];
    messages.forEach((m, index) => {
      if (m.role === "tool") return;
      const live = streaming && index === messages.length - 1;
      const text = messageText(m.content);
      if (m.tool_calls?.length) {
        const list = toolCallList(m.tool_calls.map((c) => calls.get(c.id)), { awaitingIds, decide });
        items.push(h("li", { class: "bubble bubble-tools", "data-role": "tool-calls" },
          h("span", { class: "bubble-role" }, "assistant · tool calls"),
          text ? h("div", { class: "bubble-text" }, text) : null,
          list));
        return;
      }
      const structured = m.structured !== undefined && m.structured !== null;
      items.push(h(
        "li",
        { class: `bubble bubble-${m.role}${live ? " is-streaming" : ""}`, "data-role": m.role, "data-streaming": live ? "true" : null },
        h("span", { class: "bubble-role" }, m.role === "user" ? "You" : m.role),
        structured ? structuredBlock(m.structured, "chat-structured") : h("div", { class: "bubble-text" }, text),
      ));
    });
    if (busy && !streaming && next?.streaming_text) {
      items.push(h("li", { class: "bubble bubble-assistant is-streaming", "data-role": "assistant", "data-streaming": "true" }, h("span", { class: "bubble-role" }, "assistant"), h("div", { class: "bubble-text" }, next.streaming_text)));
    }
    if (!items.length) items.push(h("li", { class: "placeholder empty-chat" }, "Say something to start the conversation."));
    fill(transcript, items);
    transcript.scrollTop = transcript.scrollHeight;
    const error = next?.error;
    errorBox.hidden = !error;
    if (error) fill(errorBox, errorText(error));
  }

  function attach(conv) {
    conversation = conv;
    sessionStorage.setItem(CHAT_KEY, JSON.stringify(conv));
    watch?.close();
    watch = listen(`/conversations/${enc(conv.instance_id)}/watch`, { state: (data) => renderState(data) }, {
      onclosed: () => toast("The conversation's live updates stopped; reload to reconnect.", "error"),
    });
  }

  let variablesFor = 0;
  async function loadVariables(ref) {
    // Only the newest call draws: an answer for a prompt chosen before must not replace it.
    const mine = ++variablesFor;
    try {
      const snapshot = await api("GET", `/runnables/${enc(ref)}`);
      if (mine !== variablesFor) return;
      const ports = snapshot.input_ports || [];
      fill(varsBox, ports.length ? ports.map((port) => {
        const id = nextId(`chat-var-${port.key}`);
        return h("div", { class: "field" },
          h("label", { for: id }, port.name || port.key, port.required ? h("span", { class: "required" }, " *") : null),
          h("input", {
            id,
            "data-var": port.key,
            value: variables.get(port.key) ?? "",
            placeholder: port.default ?? "",
            onchange: (e) => setVariable(port.key, e.target.value),
          }));
      }) : h("p", { class: "placeholder" }, "This prompt has no variables."));
    } catch (exc) {
      if (mine !== variablesFor) return;
      fill(varsBox, h("p", { class: "placeholder" }, `Variables could not be read: ${exc.message}`));
    }
  }

  async function setVariable(key, value) {
    variables.set(key, value);
    if (!conversation) return;
    try {
      await api("PATCH", `/conversations/${enc(conversation.instance_id)}/variables`, { [key]: value });
    } catch (exc) {
      toast(`Variable not set: ${exc.message}`, "error");
    }
  }

  async function start() {
    const ref = promptSelect.value;
    const body = { prompt: ref, variables: Object.fromEntries([...variables].filter(([, v]) => v !== "")) };
    const { instance_id: instanceId } = await api("POST", "/conversations", body);
    attach({ instance_id: instanceId, ref });
  }

  async function send() {
    const text = composer.value.trim();
    if (!text || (state && BUSY.has(state.status))) return;
    sendButton.disabled = true;
    try {
      if (!conversation) await start();
      composer.value = "";
      composer.dispatchEvent(new Event("input"));
      await api("POST", `/conversations/${enc(conversation.instance_id)}/messages`, { text });
    } catch (exc) {
      errorBox.hidden = false;
      fill(errorBox, exc.message);
      sendButton.disabled = false;
    }
    composer.focus();
  }

  async function decide(call, approved) {
    if (!conversation) return;
    try {
      await api("POST", `/conversations/${enc(conversation.instance_id)}/tool_calls/${enc(call.id)}`, { approved });
    } catch (exc) {
      toast(`Could not ${approved ? "approve" : "deny"} ${call.name}: ${exc.message}`, "error");
    }
  }

  async function stop() {
    if (!conversation) return;
    try {
      await api("POST", `/conversations/${enc(conversation.instance_id)}/cancel`);
    } catch (exc) {
      toast(`Could not stop: ${exc.message}`, "error");
    }
  }

  async function reset() {
    const old = conversation;
    watch?.close();
    watch = null;
    conversation = null;
    sessionStorage.removeItem(CHAT_KEY);
    renderState(null);
    if (old) api("DELETE", `/conversations/${enc(old.instance_id)}`).catch(() => {});
    composer.focus();
  }

  composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  const onKey = (event) => {
    if (event.key === "Escape" && state && BUSY.has(state.status)) stop();
  };
  document.addEventListener("keydown", onKey);

  try {
    const { items } = await listRunnables("prompt");
    fill(promptSelect, items.map((item) => h("option", { value: `${item.kind}:${item.id}` }, runnableLabel(item))));
  } catch (exc) {
    toast(`Prompts could not be listed: ${exc.message}`, "error");
  }
  const saved = JSON.parse(sessionStorage.getItem(CHAT_KEY) || "null");
  if (saved) {
    promptSelect.value = saved.ref;
    attach(saved);
  } else {
    renderState(null);
  }
  promptSelect.addEventListener("change", () => {
    reset();
    loadVariables(promptSelect.value);
  });
  if (promptSelect.value) await loadVariables(promptSelect.value);

  return () => {
    document.removeEventListener("keydown", onKey);
    watch?.close();
    app.setBusy(false);
  };
}
