// A run's reply as it streams in: `followRun` reads `GET /runs/{id}/events`, and
// `OutputPanel` shows the status, the text (growing chunk by chunk), metrics and errors.

import { api, enc, listen } from "./api.js";
import { asText, fill, formatCost, formatMs, formatNumber, h, statusPill } from "./dom.js";
import { structuredBlock, toolCallList, toolExchanges } from "./tools.js";

const TERMINAL = new Set(["success", "error", "cancelled", "skipped", "failed"]);

/**
 * Follow a server-side run: chunk, node, row and done events (a finished run is replayed whole).
 * Returns `close()`; the stream closes itself after `done`.
 */
export function followRun(runId, { onchunk, onnode, onrow, ondone, onlost }) {
  let stream = null;
  stream = listen(
    `/runs/${enc(runId)}/events`,
    {
      chunk: (data) => onchunk?.(data),
      node: (data) => onnode?.(data),
      row: (data) => onrow?.(data),
      done: (data) => {
        stream?.close();
        ondone?.(data || {});
      },
    },
    { onclosed: () => onlost?.() },
  );
  return () => stream.close();
}

/** The metrics of a finished run: its stats, else the sum of its tasks'. */
export function runMetrics(run) {
  const stats = run.stats || {};
  const tasks = run.tasks || [];
  const pick = (key) => {
    if (stats[key] !== undefined && stats[key] !== null) return stats[key];
    const values = tasks.map((t) => t[key]).filter((v) => typeof v === "number");
    if (!values.length) return null;
    return key.endsWith("_ms") && key !== "latency_ms"
      ? values[0]
      : values.reduce((a, b) => a + b, 0);
  };
  // A reply stopped mid-stream never got the provider's usage: its zeros mean "unknown".
  const known = (value) => (run.status === "cancelled" && value === 0 ? null : value);
  return {
    tokens_in: known(pick("tokens_in")),
    tokens_out: known(pick("tokens_out")),
    cost: known(pick("cost")),
    latency_ms: pick("latency_ms"),
    ttft_ms: pick("ttft_ms"),
  };
}

/** An error as text: the server's JSON `{"message", ...}` text, a string, or an object. */
export function errorText(error) {
  if (!error) return "";
  if (typeof error === "string") {
    try {
      const parsed = JSON.parse(error);
      if (parsed && typeof parsed === "object") return errorText(parsed);
    } catch {
      return error;
    }
    return error;
  }
  if (typeof error === "object") {
    const message = error.message || error.detail || JSON.stringify(error);
    return error.type ? `${error.type}: ${message}` : message;
  }
  return String(error);
}

/** A panel showing one run's reply. */
export class OutputPanel {
  constructor({ label = "Output", testid = "output" } = {}) {
    this.status = "idle";
    this.testid = testid;
    this.text = "";
    this.runId = null;
    this.close = null;
    this.pill = statusPill("idle");
    this.body = h("pre", { class: "output-text", "data-testid": `${testid}-text`, "aria-live": "polite" });
    this.error = h("div", { class: "output-error", role: "alert", hidden: true, "data-testid": `${testid}-error` });
    this.metrics = h("div", { class: "metrics", "data-testid": `${testid}-metrics` });
    // The tool calls of the run (read from its record when it ends) and a parsed reply.
    this.tools = h("div", { class: "output-tools", "data-testid": `${testid}-tools`, hidden: true });
    this.structured = h("div", { class: "output-structured", hidden: true });
    this.link = h("a", { class: "subtle-link", hidden: true }, "Open run");
    this.el = h(
      "section",
      { class: "output-panel", "data-testid": testid, "aria-label": label },
      h("div", { class: "output-head" }, h("h3", {}, label), this.pill, this.link),
      this.tools,
      this.body,
      this.structured,
      this.error,
      this.metrics,
    );
    this.showEmpty();
  }

  showEmpty() {
    fill(this.body, h("span", { class: "placeholder" }, "The reply appears here as it streams in."));
  }

  setStatus(status) {
    this.status = status;
    this.pill.replaceWith((this.pill = statusPill(status)));
    this.el.dataset.status = status;
    this.body.classList.toggle("is-streaming", status === "streaming" || status === "running");
  }

  get busy() {
    return this.status === "pending" || this.status === "running" || this.status === "streaming";
  }

  reset() {
    this.close?.();
    this.close = null;
    this.text = "";
    this.runId = null;
    this.setStatus("idle");
    this.showEmpty();
    this.error.hidden = true;
    this.link.hidden = true;
    fill(this.metrics);
    this.clearExtras();
  }

  clearExtras() {
    this.body.hidden = false;
    this.tools.hidden = true;
    fill(this.tools);
    this.structured.hidden = true;
    fill(this.structured);
  }

  pending() {
    this.reset();
    this.setStatus("pending");
    fill(this.body);
  }

  fail(message) {
    this.setStatus("error");
    this.error.hidden = false;
    fill(this.error, message);
    if (!this.text) fill(this.body, h("span", { class: "placeholder" }, "No reply."));
  }

  /** Follow run `runId` from its first event; `onfinish(done)` when it ends. */
  follow(runId, { onfinish } = {}) {
    this.close?.();
    this.runId = runId;
    this.text = "";
    fill(this.body);
    this.clearExtras();
    this.error.hidden = true;
    this.link.hidden = false;
    this.link.href = `#/runs/${enc(runId)}`;
    this.setStatus("running");
    this.close = followRun(runId, {
      onchunk: (data) => {
        const piece = typeof data === "string" ? data : data?.text;
        if (!piece) return;
        this.text += piece;
        this.body.append(piece);
        if (this.status !== "streaming") this.setStatus("streaming");
      },
      ondone: (done) => {
        this.close = null;
        const status = done.status || "success";
        const parsed = status === "success" && done.output !== null && typeof done.output === "object";
        if (parsed) {
          // A structured reply: the parsed value, indented, instead of the streamed text.
          fill(this.structured, structuredBlock(done.output, `${this.testid}-structured`));
          this.structured.hidden = false;
          this.body.hidden = true;
        } else if (!this.text && done.output !== undefined && done.output !== null) {
          this.text = asText(done.output);
          fill(this.body, this.text);
        }
        this.setStatus(TERMINAL.has(status) ? status : "success");
        if (done.error) {
          this.error.hidden = false;
          fill(this.error, errorText(done.error));
        }
        this.loadMetrics(runId);
        onfinish?.(done);
      },
      onlost: () => {
        this.close = null;
        this.fail("The connection to the run was lost; reload the page to rejoin it.");
        onfinish?.({ status: "error", lost: true });
      },
    });
  }

  async cancel() {
    if (!this.runId || !this.busy) return;
    try {
      await api("POST", `/runs/${enc(this.runId)}/cancel`);
    } catch (exc) {
      this.fail(`Could not stop the run: ${exc.message}`);
    }
  }

  showToolCalls(run) {
    // The request recorded for a task is the last one sent: it holds every call and answer.
    const messages = (run.tasks || []).flatMap((task) => task.request?.messages || []);
    const list = toolCallList(toolExchanges(messages));
    this.tools.hidden = !list;
    fill(this.tools, list ? [h("h4", { class: "output-subtitle" }, "Tool calls"), list] : []);
  }

  async loadMetrics(runId) {
    try {
      const run = await api("GET", `/runs/${enc(runId)}`);
      if (runId !== this.runId) return;
      this.showToolCalls(run);
      const m = runMetrics(run);
      fill(
        this.metrics,
        metric("Tokens in", formatNumber(m.tokens_in)),
        metric("Tokens out", formatNumber(m.tokens_out)),
        metric("Cost", formatCost(m.cost)),
        metric("Latency", formatMs(m.latency_ms)),
        metric("First token", formatMs(m.ttft_ms)),
      );
    } catch {
      fill(this.metrics); // metrics are a nicety; the reply is already shown
    }
  }
}

export function metric(label, value) {
  return h("div", { class: "metric" }, h("span", { class: "metric-label" }, label), h("span", { class: "metric-value" }, value));
}
