// The Runs section: every recorded run, filtered and paged, and one run's full detail.

import { api, enc, listRunnables, query, runnableLabel } from "./api.js";
import { asText, fill, formatCost, formatMs, formatNumber, formatTime, h, nextId, statusPill, toast } from "./dom.js";
import { errorText, metric, runMetrics } from "./output.js";
import { toolCallList, toolExchanges } from "./tools.js";

const PAGE_SIZES = [5, 10, 20, 50];
const STATUSES = ["", "success", "error", "cancelled", "running", "pending"];
const FILTER_KEY = "rb.runs.filters";
// A run id's last characters: ids begin with their time (UUIDv7), so runs started within
// the same quarter second share their first ten; the end is random and tells them apart.
const shortId = (id) => id.slice(-10);

export async function mount(main, params) {
  if (params[0]) return mountDetail(main, decodeURIComponent(params[0]));
  return mountList(main);
}

async function mountList(main) {
  const filters = { runnable_ref: "", status: "", limit: 20, offset: 0, ...JSON.parse(sessionStorage.getItem(FILTER_KEY) || "{}") };
  const refId = nextId("runs-ref");
  const statusId = nextId("runs-status");
  const sizeId = nextId("runs-size");
  const refSelect = h("select", { id: refId, "data-testid": "runs-filter-ref" }, h("option", { value: "" }, "Any runnable"));
  const statusSelect = h("select", { id: statusId, "data-testid": "runs-filter-status" }, STATUSES.map((s) => h("option", { value: s, selected: s === filters.status }, s || "Any status")));
  const sizeSelect = h("select", { id: sizeId }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === filters.limit }, `${n} a page`)));
  const table = h("div", { class: "table-wrap", "data-testid": "runs-table" });
  const pageLabel = h("span", { class: "page-label", "data-testid": "runs-page" });
  const prev = h("button", { type: "button", class: "button", "data-testid": "runs-prev", onclick: () => page(-1) }, "← Newer");
  const next = h("button", { type: "button", class: "button", "data-testid": "runs-next", onclick: () => page(1) }, "Older →");
  const refresh = h("button", { type: "button", class: "button ghost", onclick: () => load() }, "Refresh");

  fill(main, h("div", { class: "view runs-view" },
    h("section", { class: "panel", "aria-label": "Runs" },
      h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "Runs"), h("span", { class: "hint" }, "Every run the server recorded, newest first")),
      h("div", { class: "filters" },
        h("div", { class: "field" }, h("label", { for: refId }, "Runnable"), refSelect),
        h("div", { class: "field" }, h("label", { for: statusId }, "Status"), statusSelect),
        h("div", { class: "field" }, h("label", { for: sizeId }, "Page size"), sizeSelect),
        h("span", { class: "spacer" }), refresh),
      table,
      h("div", { class: "pager" }, prev, pageLabel, next))));

  const persist = () => sessionStorage.setItem(FILTER_KEY, JSON.stringify(filters));
  refSelect.addEventListener("change", () => { filters.runnable_ref = refSelect.value; filters.offset = 0; persist(); load(); });
  statusSelect.addEventListener("change", () => { filters.status = statusSelect.value; filters.offset = 0; persist(); load(); });
  sizeSelect.addEventListener("change", () => { filters.limit = Number(sizeSelect.value); filters.offset = 0; persist(); load(); });

  function page(direction) {
    filters.offset = Math.max(0, filters.offset + direction * filters.limit);
    persist();
    load();
  }

  // Only the newest listing is shown: a filter changed while an older one was on its way
  // (the first listing races the page's own controls) must not be overwritten by it.
  let latest = 0;
  async function load() {
    const mine = ++latest;
    let data;
    try {
      data = await api("GET", `/runs${query(filters)}`);
    } catch (exc) {
      if (mine === latest) fill(table, h("div", { class: "banner banner-error", role: "alert" }, `Runs could not be listed: ${exc.message}`));
      return;
    }
    if (mine !== latest) return;
    const { items, total } = data;
    if (!items.length && filters.offset > 0 && total > 0) {
      filters.offset = Math.max(0, (Math.ceil(total / filters.limit) - 1) * filters.limit);
      return load();
    }
    const first = total ? filters.offset + 1 : 0;
    fill(pageLabel, `${first}–${filters.offset + items.length} of ${total}`);
    prev.disabled = filters.offset === 0;
    next.disabled = filters.offset + items.length >= total;
    if (!items.length) {
      fill(table, h("p", { class: "placeholder empty" }, "No runs match these filters yet. Run a prompt and it shows up here."));
      return;
    }
    fill(table, h("table", { class: "table runs-table" },
      h("thead", {}, h("tr", {}, ["Started", "Runnable", "Name", "Status", "Latency", "Tokens", "Cost", "Run"].map((c) => h("th", {}, c)))),
      h("tbody", {}, items.map((run) => {
        const m = runMetrics(run);
        const tokens = (m.tokens_in ?? 0) + (m.tokens_out ?? 0);
        return h("tr", { "data-run": run.id },
          h("td", { class: "nowrap" }, formatTime(run.created_at)),
          h("td", {}, h("code", {}, run.runnable_ref || "—")),
          h("td", {}, run.name || "—"),
          h("td", {}, statusPill(run.status)),
          h("td", { class: "num" }, formatMs(m.latency_ms)),
          h("td", { class: "num" }, m.tokens_in === null && m.tokens_out === null ? "—" : formatNumber(tokens)),
          h("td", { class: "num" }, formatCost(m.cost)),
          h("td", {}, h("a", { href: `#/runs/${enc(run.id)}`, class: "run-link" }, shortId(run.id))));
      }))));
  }

  try {
    const kinds = await Promise.all(["prompt", "builtin", "app_revision", "evaluator_revision"].map((k) => listRunnables(k).catch(() => ({ items: [] }))));
    for (const item of kinds.flatMap((k) => k.items)) {
      const value = `${item.kind}:${item.id}`;
      refSelect.append(h("option", { value, selected: value === filters.runnable_ref }, `${runnableLabel(item)} (${item.kind})`));
    }
  } catch (exc) {
    toast(`Runnables could not be listed: ${exc.message}`, "error");
  }
  await load();
  return () => {};
}

function section(title, body, attrs = {}) {
  return h("section", { class: "detail-section", ...attrs }, h("h3", {}, title), body);
}

function codeBlock(value, testid) {
  return h("pre", { class: "code-block", "data-testid": testid }, asText(value) || "—");
}

function requestMessage(message, messages) {
  // A call message shows its calls (with their answers); the answers are not repeated.
  if (message.role === "tool") return null;
  const calls = message.tool_calls?.length
    ? toolCallList(toolExchanges(messages).filter((call) => message.tool_calls.some((c) => c.id === call.id)))
    : null;
  const text = typeof message.content === "string" ? message.content : asText(message.content);
  return h("div", { class: `request-message role-${message.role}` },
    h("span", { class: "bubble-role" }, calls ? `${message.role} · tool calls` : message.role),
    text ? h("pre", {}, text) : null,
    calls);
}

function requestView(run) {
  const requests = (run.tasks || []).map((t) => t.request).filter((r) => r !== null && r !== undefined);
  const request = requests.length === 1 ? requests[0] : requests.length ? requests : null;
  const messages = request?.messages;
  if (Array.isArray(messages)) {
    return h("div", { class: "request-messages", "data-testid": "run-request" },
      messages.map((m) => requestMessage(m, messages)),
      Object.keys(request).length > 1 ? h("details", {}, h("summary", {}, "Whole request"), codeBlock(request)) : null);
  }
  if (request === null && run.messages?.length) return codeBlock(run.messages, "run-request");
  return codeBlock(request, "run-request");
}

const LIVE = new Set(["running", "pending"]);

async function mountDetail(main, runId) {
  fill(main, h("div", { class: "view run-detail" }, h("p", { class: "placeholder" }, "Loading the run…")));
  let timer = 0;
  let closed = false;
  const refresh = async () => {
    let run;
    try {
      run = await api("GET", `/runs/${enc(runId)}`);
    } catch (exc) {
      if (closed) return;
      fill(main, h("div", { class: "view run-detail" }, h("a", { href: "#/runs", class: "subtle-link" }, "← All runs"),
        h("div", { class: "banner banner-error", role: "alert" }, `This run could not be read: ${exc.message}`)));
      return;
    }
    if (closed) return;
    renderDetail(main, run);
    // A run still going is read again until it ends; a conversation's run waits between
    // turns for as long as the conversation lasts, so it is read less often.
    if (LIVE.has(run.status)) timer = setTimeout(refresh, run.status === "running" ? 700 : 3000);
  };
  await refresh();
  return () => {
    closed = true;
    clearTimeout(timer);
  };
}

function renderDetail(main, run) {
  const m = runMetrics(run);
  const error = run.error || (run.tasks || []).map((t) => t.error).find(Boolean);
  const tasks = run.tasks || [];
  fill(main, h("div", { class: "view run-detail", "data-testid": "run-detail" },
    h("a", { href: "#/runs", class: "subtle-link" }, "← All runs"),
    h("div", { class: "detail-head" },
      h("h2", { class: "section-title" }, run.runnable_ref || run.name || "Run"),
      run.parent_run_id ? h("a", { href: `#/runs/${enc(run.parent_run_id)}`, class: "subtle-link" }, "Parent run") : null,
      statusPill(run.status, { "data-testid": "run-status" }),
      h("code", { class: "run-id" }, run.id)),
    h("div", { class: "metrics", "data-testid": "run-metrics" },
      metric("Name", run.name || "—"),
      metric("Tokens in", formatNumber(m.tokens_in)),
      metric("Tokens out", formatNumber(m.tokens_out)),
      metric("Cost", formatCost(m.cost)),
      metric("Latency", formatMs(m.latency_ms)),
      metric("First token", formatMs(m.ttft_ms)),
      metric("Started", formatTime(run.created_at)),
      metric("Finished", formatTime(run.finished_at))),
    error ? h("div", { class: "banner banner-error", role: "alert", "data-testid": "run-error" }, h("strong", {}, "Error · "), errorText(error)) : null,
    h("div", { class: "detail-grid" },
      section("Inputs", codeBlock(run.inputs, "run-inputs")),
      section("Output", codeBlock(run.output, "run-output"))),
    section("Request", requestView(run)),
    tasks.length ? section("Tasks", h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Node", "Status", "TTFT", "Latency", "Tokens in", "Tokens out", "Cost"].map((c) => h("th", {}, c)))),
      h("tbody", {}, tasks.map((t) => h("tr", {},
        h("td", {}, h("code", {}, t.node_id || t.name || t.id)),
        h("td", {}, statusPill(t.status)),
        h("td", { class: "num" }, formatMs(t.ttft_ms)),
        h("td", { class: "num" }, formatMs(t.latency_ms)),
        h("td", { class: "num" }, formatNumber(t.tokens_in)),
        h("td", { class: "num" }, formatNumber(t.tokens_out)),
        h("td", { class: "num" }, formatCost(t.cost)))))))) : null,
    run.children?.length ? section("Rows", h("div", { class: "table-wrap" }, h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Run", "Status", "Inputs", "Latency"].map((c) => h("th", {}, c)))),
      h("tbody", {}, run.children.map((child) => h("tr", {},
        h("td", {}, h("a", { href: `#/runs/${enc(child.id)}`, class: "run-link" }, child.name || shortId(child.id))),
        h("td", {}, statusPill(child.status)),
        h("td", {}, h("code", {}, JSON.stringify(child.inputs))),
        h("td", { class: "num" }, formatMs(child.stats?.latency_ms)))))))) : null,
    run.variables && Object.keys(run.variables).length ? section("Variables", codeBlock(run.variables, "run-variables")) : null,
    run.settings && Object.keys(run.settings).length ? section("Settings", codeBlock(run.settings, "run-settings")) : null));
}
