// Tool calls and structured output, as the run panel and the chat show them.
//
// A tool exchange lives in chat messages (the OpenAI shape): an assistant message with
// `tool_calls` [{id, function: {name, arguments}}], then one `tool` message per call that
// names it by `tool_call_id`. A structured reply is plain JSON (`structured` on a chat
// message, the run's output).

import { h } from "./dom.js";

/** JSON text on one line when it is short, indented when it is long; else as it is. */
export function prettyJson(text) {
  let value = text;
  if (typeof text === "string") {
    try {
      value = JSON.parse(text);
    } catch {
      return text;
    }
  }
  const flat = JSON.stringify(value, null, 1).replace(/\s*\n\s*/g, " ");
  return flat.length <= 72 ? flat : JSON.stringify(value, null, 2);
}

/** The tool calls in `messages` with their answers: [{id, name, arguments, result}] (result null: no answer yet). */
export function toolExchanges(messages) {
  const calls = [];
  const byId = new Map();
  for (const message of messages || []) {
    for (const call of message?.tool_calls || []) {
      const entry = { id: call.id, name: call.function?.name || "?", arguments: call.function?.arguments ?? "", result: null };
      calls.push(entry);
      byId.set(call.id, entry);
    }
    if (message?.role === "tool" && byId.has(message.tool_call_id)) {
      byId.get(message.tool_call_id).result = typeof message.content === "string" ? message.content : JSON.stringify(message.content);
    }
  }
  return calls;
}

/** What state a call is in: "awaiting" (a person must answer), "running", "error" or "done". */
export function callState(call, awaitingIds) {
  if (call.result === null) return awaitingIds?.has(call.id) ? "awaiting" : "running";
  return call.result.startsWith("error:") ? "error" : "done";
}

const LABELS = { awaiting: "awaiting approval", running: "running", error: "error", done: "result" };

/**
 * One tool call: its name, its arguments and its answer. `decide(call, approved)` adds
 * Approve and Deny buttons to a call that awaits approval.
 */
export function toolCallCard(call, { awaitingIds, decide } = {}) {
  const state = callState(call, awaitingIds);
  const pill = h("span", { class: `pill pill-tool-${state}`, "data-status": state }, LABELS[state]);
  const answer =
    state === "awaiting" && decide
      ? h(
          "div",
          { class: "button-row tool-decision" },
          h("button", { type: "button", class: "button primary", "data-testid": "tool-approve", onclick: () => decide(call, true) }, `Approve ${call.name}`),
          h("button", { type: "button", class: "button", "data-testid": "tool-deny", onclick: () => decide(call, false) }, "Deny"),
        )
      : call.result !== null
        ? h("pre", { class: `tool-result${state === "error" ? " is-error" : ""}`, "data-testid": "tool-result" }, prettyJson(call.result))
        : null;
  return h(
    "li",
    { class: `tool-call tool-${state}`, "data-testid": "tool-call", "data-tool": call.name, "data-state": state },
    h("div", { class: "tool-head" }, h("span", { class: "tool-icon", "aria-hidden": "true" }, "ƒ"), h("code", { class: "tool-name" }, call.name), pill),
    h("pre", { class: "tool-arguments", "data-testid": "tool-arguments", "aria-label": `Arguments of ${call.name}` }, prettyJson(call.arguments || "{}")),
    answer,
  );
}

/** A list of tool call cards (null when there are none). */
export function toolCallList(calls, options = {}) {
  if (!calls.length) return null;
  return h("ol", { class: "tool-calls", "aria-label": "Tool calls" }, calls.map((call) => toolCallCard(call, options)));
}

/** A structured value as indented JSON, labelled. */
export function structuredBlock(value, testid = "structured") {
  return h(
    "div",
    { class: "structured", "data-testid": testid },
    h("span", { class: "structured-label" }, "Structured output (JSON, valid against the schema)"),
    h("pre", { class: "structured-json" }, JSON.stringify(value, null, 2)),
  );
}
