// The Compare section: the same inputs on 2-4 runnables side by side, each reply streamed.

import { api, enc, listRunnables, runnableLabel } from "./api.js";
import { autoGrow, fill, h, nextId, toast } from "./dom.js";
import { OutputPanel } from "./output.js";

const MIN = 2;
const MAX = 4;
const KINDS = ["prompt", "builtin", "app_revision"];
const STATE_KEY = "rb.compare";

export async function mount(main, params, app) {
  let runnables = [];
  const results = await Promise.all(KINDS.map((kind) => listRunnables(kind).catch(() => ({ items: [] }))));
  runnables = results.flatMap((r) => r.items);
  const saved = JSON.parse(sessionStorage.getItem(STATE_KEY) || "null");
  const refs = saved?.refs?.length >= MIN ? saved.refs : runnables.slice(0, MIN).map((r) => `${r.kind}:${r.id}`);
  while (refs.length < MIN) refs.push("");
  const values = new Map(Object.entries(saved?.values || {}));
  const portsOf = new Map();
  let columns = [];

  const inputsBox = h("div", { class: "ports ports-grid", "data-testid": "compare-inputs" });
  const grid = h("div", { class: "compare-grid", "data-testid": "compare-grid" });
  const runButton = h("button", { type: "button", class: "button primary", "data-testid": "compare-run", title: "Run all (Ctrl+Enter)", onclick: () => runAll() }, "Run all", h("kbd", { class: "kbd-hint" }, "Ctrl ⏎"));
  const stopButton = h("button", { type: "button", class: "button", disabled: true, onclick: () => columns.forEach((c) => c.output.cancel()) }, "Stop all");
  const addButton = h("button", { type: "button", class: "button ghost", "data-testid": "compare-add", onclick: () => addColumn() }, "+ Add column");

  fill(
    main,
    h(
      "div",
      { class: "view compare-view" },
      h(
        "section",
        { class: "panel compare-top", "aria-label": "Shared inputs" },
        h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "Compare"), h("span", { class: "hint" }, "The same inputs, sent to every column")),
        inputsBox,
        h("div", { class: "button-row" }, runButton, stopButton, h("span", { class: "spacer" }), addButton),
      ),
      grid,
    ),
  );

  function persist() {
    sessionStorage.setItem(STATE_KEY, JSON.stringify({ refs, values: Object.fromEntries(values) }));
  }

  async function ports(ref) {
    if (!ref) return [];
    if (!portsOf.has(ref)) {
      try {
        const snapshot = await api("GET", `/runnables/${enc(ref)}`);
        portsOf.set(ref, snapshot.input_ports || []);
      } catch (exc) {
        toast(`Inputs of ${ref} could not be read: ${exc.message}`, "error");
        portsOf.set(ref, []);
      }
    }
    return portsOf.get(ref);
  }

  async function renderInputs() {
    const all = new Map();
    for (const ref of refs) {
      for (const port of await ports(ref)) {
        const seen = all.get(port.key);
        all.set(port.key, seen ? { ...seen, required: seen.required || port.required } : port);
      }
    }
    if (!all.size) {
      fill(inputsBox, h("p", { class: "placeholder" }, "The chosen runnables take no inputs."));
      return;
    }
    fill(inputsBox, [...all.values()].map((port) => {
      const id = nextId(`cmp-${port.key}`);
      return h("div", { class: "field", "data-testid": `compare-port-${port.key}` },
        h("label", { for: id }, port.name || port.key, port.required ? h("span", { class: "required", title: "required by at least one column" }, " *") : null, h("code", { class: "port-key" }, port.key)),
        autoGrow(h("textarea", {
          id, rows: 1, "data-port": port.key, value: values.get(port.key) ?? "",
          oninput: (e) => { values.set(port.key, e.target.value); persist(); },
        })));
    }));
  }

  function renderColumns() {
    columns.forEach((c) => c.output.close?.());
    columns = refs.map((ref, index) => {
      const output = new OutputPanel({ label: `Column ${index + 1}`, testid: `compare-output-${index}` });
      const selectId = nextId("cmp-select");
      const select = h("select", {
        id: selectId,
        "data-testid": `compare-select-${index}`,
        onchange: async (e) => {
          refs[index] = e.target.value;
          persist();
          await renderInputs();
        },
      }, h("option", { value: "" }, "Choose a runnable…"), runnables.map((r) => {
        const value = `${r.kind}:${r.id}`;
        return h("option", { value, selected: value === ref }, `${runnableLabel(r)} (${r.kind})`);
      }));
      const remove = h("button", {
        type: "button", class: "icon-button", "aria-label": `Remove column ${index + 1}`, title: "Remove column",
        disabled: refs.length <= MIN,
        onclick: async () => { refs.splice(index, 1); persist(); renderColumns(); await renderInputs(); },
      }, "×");
      const el = h("div", { class: "compare-column", "data-testid": `compare-column-${index}` },
        h("div", { class: "column-head" }, h("label", { class: "visually-hidden", for: selectId }, `Runnable of column ${index + 1}`), select, remove),
        output.el);
      return { el, output, select };
    });
    fill(grid, columns.map((c) => c.el));
    grid.dataset.columns = String(columns.length);
    addButton.disabled = refs.length >= MAX;
  }

  function addColumn() {
    if (refs.length >= MAX) return;
    refs.push("");
    persist();
    renderColumns();
    columns.at(-1).select.focus();
  }

  function updateBusy() {
    const busy = columns.some((c) => c.output.busy);
    runButton.disabled = busy;
    stopButton.disabled = !busy;
    app.setBusy(busy);
  }

  async function runAll() {
    if (columns.some((c) => c.output.busy)) return;
    await Promise.all(columns.map(async (column, index) => {
      const ref = refs[index];
      if (!ref) {
        column.output.fail("Choose a runnable for this column.");
        return;
      }
      const inputs = {};
      const missing = [];
      for (const port of await ports(ref)) {
        const value = values.get(port.key);
        if (value !== undefined && value !== "") inputs[port.key] = value;
        else if (port.required) missing.push(port.name || port.key);
      }
      if (missing.length) {
        column.output.reset();
        column.output.fail(`Fill in the required ${missing.length > 1 ? "inputs" : "input"}: ${missing.join(", ")}.`);
        return;
      }
      column.output.pending();
      updateBusy();
      try {
        const { run_id: runId } = await api("POST", `/runnables/${enc(ref)}/runs`, { inputs });
        column.output.follow(runId, { onfinish: updateBusy });
      } catch (exc) {
        column.output.fail(exc.message);
      }
      updateBusy();
    }));
  }

  const onKey = (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      runAll();
    } else if (event.key === "Escape") {
      columns.forEach((c) => c.output.cancel());
    }
  };
  document.addEventListener("keydown", onKey);
  renderColumns();
  await renderInputs();
  return () => {
    document.removeEventListener("keydown", onKey);
    columns.forEach((c) => c.output.close?.());
    app.setBusy(false);
  };
}
