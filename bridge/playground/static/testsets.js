// The Test sets section: load rows (JSONL or CSV), pick a prompt and evaluators, run them all
// as one dataset run with a progress bar, then a results table with per-evaluator means.

import { api, enc, listRunnables, runnableLabel } from "./api.js";
import { asText, fill, formatCost, formatNumber, h, nextId, statusPill, toast } from "./dom.js";
import { columnsOf, parseRows } from "./datasets.js";
import { errorText, followRun, metric } from "./output.js";

const TARGET = "target";
const TERMINAL = new Set(["success", "error", "cancelled", "skipped", "failed"]);

function nodeIdFor(evaluator, taken) {
  let base = `eval_${String(evaluator.slug || evaluator.id).replace(/[^A-Za-z0-9_]/g, "_")}`;
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
  taken.add(id);
  return id;
}

function scoreOf(value) {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value && typeof value === "object") {
    if (typeof value.score === "number") return value.score;
    if (value.output !== undefined) return scoreOf(value.output);
  }
  return null;
}

function mean(values) {
  const numbers = values.filter((v) => typeof v === "number");
  return numbers.length ? numbers.reduce((a, b) => a + b, 0) / numbers.length : null;
}

const fmtScore = (v) => (typeof v === "number" ? v.toFixed(2) : "—");

export async function mount(main, params, app) {
  let rows = [];
  let running = null; // {runId, close}
  const fileId = nextId("testset-file");
  const pasteId = nextId("testset-paste");
  const targetId = nextId("testset-target");
  const fileInput = h("input", { id: fileId, type: "file", accept: ".jsonl,.ndjson,.json,.csv,.tsv", "data-testid": "testset-file" });
  const paste = h("textarea", { id: pasteId, class: "template", rows: 5, spellcheck: "false", placeholder: "One JSON object per line…or CSV with a header line", "data-testid": "testset-paste" });
  const columnWarning = h("div", { class: "banner banner-warning", role: "status", hidden: true, "data-testid": "testset-columns" });
  const preview = h("div", { class: "table-wrap", "data-testid": "testset-preview" });
  const loadError = h("div", { class: "banner banner-error", role: "alert", hidden: true });
  const targetSelect = h("select", { id: targetId, "data-testid": "testset-target" });
  const evaluatorBox = h("fieldset", { class: "checks", "data-testid": "testset-evaluators" }, h("legend", {}, "Evaluators"));
  const runButton = h("button", { type: "button", class: "button primary", "data-testid": "testset-run", title: "Run (Ctrl+Enter)", onclick: () => run() }, "Run test set", h("kbd", { class: "kbd-hint" }, "Ctrl ⏎"));
  const stopButton = h("button", { type: "button", class: "button", disabled: true, onclick: () => cancel() }, "Stop");
  const progress = h("progress", { max: 1, value: 0, "data-testid": "testset-progress", "aria-label": "Rows finished" });
  const progressLabel = h("span", { class: "progress-label", "data-testid": "testset-progress-label" }, "Not started");
  const pillSlot = h("span", { "data-testid": "testset-status" }, statusPill("idle"));
  const summary = h("div", { class: "metrics", "data-testid": "testset-summary" });
  const results = h("div", { class: "table-wrap", "data-testid": "testset-results" });

  fill(
    main,
    h(
      "div",
      { class: "view tests-view" },
      h(
        "section",
        { class: "panel", "aria-label": "Test set" },
        h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "1 · Rows"), h("span", { class: "hint" }, "JSONL, a JSON array or CSV with a header line")),
        h("div", { class: "field" }, h("label", { for: fileId }, "Load a file"), fileInput),
        h("div", { class: "field" }, h("label", { for: pasteId }, "…or paste rows"), paste),
        h("div", { class: "button-row" }, h("button", { type: "button", class: "button", "data-testid": "testset-load", onclick: () => load(paste.value, "") }, "Use pasted rows")),
        loadError,
        columnWarning,
        preview,
      ),
      h(
        "section",
        { class: "panel", "aria-label": "What to run" },
        h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "2 · Runnable and evaluators")),
        h("div", { class: "field" }, h("label", { for: targetId }, "Prompt to test"), targetSelect),
        evaluatorBox,
        h("div", { class: "button-row" }, runButton, stopButton),
        h("div", { class: "progress-row" }, progress, progressLabel, pillSlot),
      ),
      h(
        "section",
        { class: "panel results-panel", "aria-label": "Results" },
        h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "3 · Results")),
        summary,
        results,
      ),
    ),
  );

  function load(text, name) {
    try {
      rows = parseRows(text, name);
      loadError.hidden = true;
    } catch (exc) {
      rows = [];
      loadError.hidden = false;
      fill(loadError, `These rows cannot be read: ${exc.message}`);
    }
    renderPreview();
  }

  // The chosen prompt's inputs: the paste box's example, and the columns a row must carry.
  let inputKeys = [];
  let inputsFor = 0;
  async function loadInputs() {
    const mine = ++inputsFor; // only the newest choice's answer counts
    let keys = [];
    try {
      const snapshot = await api("GET", `/runnables/${enc(targetSelect.value)}`);
      keys = (snapshot.input_ports || []).map((port) => port.key);
    } catch {
      keys = [];
    }
    if (mine !== inputsFor) return;
    inputKeys = keys;
    const example = Object.fromEntries(inputKeys.map((key) => [key, "…"]));
    paste.placeholder = `${JSON.stringify({ ...example, correct_answer: "…" })}\n…one object per line, or CSV with a header line`;
    checkColumns();
  }

  function checkColumns() {
    // A column no input reads is ignored by the run: say so before it runs, not after.
    const columns = rows.length ? columnsOf(rows) : [];
    const missing = inputKeys.filter((key) => !columns.includes(key));
    columnWarning.hidden = !rows.length || !missing.length;
    if (!columnWarning.hidden) {
      fill(columnWarning, `No column for the prompt's input${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: the rows run without ${missing.length > 1 ? "them" : "it"} (a default where the prompt has one, an error where the input is required). Its inputs: ${inputKeys.join(", ")}.`);
    }
  }

  function renderPreview() {
    checkColumns();
    if (!rows.length) {
      fill(preview, h("p", { class: "placeholder" }, "No rows loaded yet."));
      return;
    }
    const columns = columnsOf(rows);
    fill(preview,
      h("p", { class: "hint", "data-testid": "testset-count" }, `${rows.length} rows · columns: ${columns.join(", ")}`),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), columns.map((c) => h("th", {}, c)))),
        h("tbody", {}, rows.slice(0, 8).map((row, i) => h("tr", {}, h("td", { class: "num" }, i + 1), columns.map((c) => h("td", {}, asText(row[c]))))))));
  }

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const text = await file.text();
    paste.value = text;
    load(text, file.name);
  });

  // -- what to run ---------------------------------------------------------------------------
  let evaluators = [];
  try {
    const [prompts, evals] = await Promise.all([listRunnables("prompt"), listRunnables("evaluator_revision")]);
    fill(targetSelect, prompts.items.map((p) => h("option", { value: `${p.kind}:${p.id}` }, runnableLabel(p))));
    targetSelect.addEventListener("change", () => loadInputs());
    loadInputs();
    evaluators = evals.items;
    evaluatorBox.append(...(evaluators.length
      ? evaluators.map((e, i) => {
          const id = nextId("eval");
          return h("div", { class: "check" },
            h("input", { type: "checkbox", id, value: `${e.kind}:${e.id}`, "data-testid": `evaluator-${e.id}`, checked: i < 2 }),
            h("label", { for: id }, runnableLabel(e)));
        })
      : [h("p", { class: "placeholder" }, "No evaluators on this server.")]));
  } catch (exc) {
    toast(`Runnables could not be listed: ${exc.message}`, "error");
  }

  function chosenEvaluators() {
    const refs = [...evaluatorBox.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
    return evaluators.filter((e) => refs.includes(`${e.kind}:${e.id}`));
  }

  function setRunning(runningNow) {
    runButton.disabled = runningNow;
    stopButton.disabled = !runningNow;
    app.setBusy(runningNow);
  }

  function setProgress(done, total) {
    progress.max = Math.max(total, 1);
    progress.value = done;
    progress.setAttribute("aria-valuetext", `${done} of ${total} rows`);
    fill(progressLabel, `${done} / ${total} rows`);
  }

  async function run() {
    if (running) return;
    if (!rows.length && paste.value.trim()) load(paste.value, fileInput.files?.[0]?.name || "");
    if (!rows.length) {
      loadError.hidden = false;
      fill(loadError, "Load some rows first.");
      return;
    }
    const chosen = chosenEvaluators();
    const taken = new Set([TARGET]);
    const evalNodes = chosen.map((e) => ({ evaluator: e, node: nodeIdFor(e, taken) }));
    const chain = {
      nodes: [{ id: TARGET, ref: targetSelect.value }, ...evalNodes.map((n) => ({ id: n.node, ref: `${n.evaluator.kind}:${n.evaluator.id}` }))],
      connections: evalNodes.map((n) => ({
        source: TARGET,
        target: n.node,
        input_mappings: [{ target_key: "output", source_path: "output" }],
      })),
    };
    const total = rows.length;
    const perRow = rows.map(() => ({ status: "pending", runId: null, nodes: {} }));
    const finished = () => perRow.filter((r) => TERMINAL.has(r.status)).length;
    setProgress(0, total);
    fill(pillSlot, statusPill("running"));
    fill(summary);
    setRunning(true);
    let runId;
    try {
      ({ run_id: runId } = await api("POST", "/chains/runs", { chain, rows, max_concurrency: 4 }));
    } catch (exc) {
      fill(pillSlot, statusPill("error"));
      fill(results, h("div", { class: "banner banner-error", role: "alert" }, exc.message));
      setRunning(false);
      return;
    }
    const view = { chain, evalNodes, perRow, stats: null };
    renderResults(view);
    let frame = 0;
    const redraw = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setProgress(finished(), total);
        renderResults(view);
      });
    };
    running = {
      runId,
      close: followRun(runId, {
        onrow: (data) => {
          const row = perRow[data?.row];
          if (!row) return;
          row.status = data.status;
          row.runId = data.run_id || row.runId;
          if (data.error) row.error = data.error;
          redraw();
        },
        onnode: (data) => {
          const row = perRow[data?.row];
          if (!row || !data.node_id) return;
          row.nodes[data.node_id] = { status: data.status, output: data.output, error: data.error };
          if (TERMINAL.has(data.status)) redraw();
        },
        ondone: async (done) => {
          running = null;
          setRunning(false);
          fill(pillSlot, statusPill(done.status || "success"));
          for (const row of perRow) if (!TERMINAL.has(row.status)) row.status = done.status === "cancelled" ? "cancelled" : "skipped";
          setProgress(finished(), total);
          try {
            const record = await api("GET", `/runs/${enc(runId)}`);
            view.stats = { ...(record.stats || {}) };
            view.stats.scores ??= record.output?.scores;
          } catch {
            view.stats = null; // the means are computed from the rows then
          }
          renderResults(view);
        },
        onlost: () => {
          running = null;
          setRunning(false);
          fill(pillSlot, statusPill("error"));
          toast("The connection to the test run was lost.", "error");
        },
      }),
    };
  }

  async function cancel() {
    if (!running) return;
    try {
      await api("POST", `/runs/${enc(running.runId)}/cancel`);
    } catch (exc) {
      toast(`Could not stop: ${exc.message}`, "error");
    }
  }

  function renderResults({ evalNodes, perRow, stats }) {
    const scores = evalNodes.map((n) => {
      const values = perRow.map((r) => scoreOf(r.nodes[n.node]?.output));
      const fromServer = stats?.scores?.[n.node];
      return { ...n, values, mean: typeof fromServer === "number" ? fromServer : mean(values) };
    });
    const ended = perRow.filter((r) => TERMINAL.has(r.status));
    fill(summary,
      metric("Rows", formatNumber(stats?.rows ?? perRow.length)),
      metric("Succeeded", formatNumber(stats?.succeeded ?? ended.filter((r) => r.status === "success").length)),
      metric("Failed", formatNumber(stats?.failed ?? ended.filter((r) => r.status !== "success").length)),
      stats ? metric("Tokens", formatNumber((stats.tokens_in ?? 0) + (stats.tokens_out ?? 0))) : null,
      stats ? metric("Cost", formatCost(stats.cost)) : null,
      scores.map((s) => h("div", { class: "metric metric-score", "data-testid": `mean-${s.evaluator.id}` },
        h("span", { class: "metric-label" }, `Mean · ${runnableLabel(s.evaluator)}`),
        h("span", { class: "metric-value" }, fmtScore(s.mean)))));
    const columns = columnsOf(rows);
    fill(results, h("table", { class: "table results-table", "data-testid": "results-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), columns.map((c) => h("th", {}, c)), h("th", {}, "Output"), scores.map((s) => h("th", { class: "num" }, runnableLabel(s.evaluator))), h("th", {}, "Status"))),
      h("tbody", {}, rows.map((row, i) => {
        const result = perRow[i];
        const target = result.nodes[TARGET];
        const error = target?.error || result.error;
        return h("tr", { "data-row": i, "data-status": result.status },
          h("td", { class: "num" }, result.runId ? h("a", { href: `#/runs/${enc(result.runId)}` }, i + 1) : i + 1),
          columns.map((c) => h("td", {}, asText(row[c]))),
          h("td", { class: "cell-output" }, error && !target?.output ? h("span", { class: "error-text" }, errorText(error)) : asText(target?.output)),
          scores.map((s) => h("td", { class: "num" }, fmtScore(s.values[i]))),
          h("td", {}, statusPill(result.status)));
      })),
      h("tfoot", {}, h("tr", { "data-testid": "results-means" },
        h("th", { colspan: columns.length + 2, scope: "row" }, "Mean"),
        scores.map((s) => h("td", { class: "num", "data-testid": `mean-cell-${s.evaluator.id}` }, fmtScore(s.mean))),
        h("td", {})))));
  }

  const onKey = (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      run();
    }
  };
  document.addEventListener("keydown", onKey);
  renderPreview();
  fill(results, h("p", { class: "placeholder" }, "Run the test set to see each row's output and every evaluator's score."));
  return () => {
    document.removeEventListener("keydown", onKey);
    running?.close();
    app.setBusy(false);
  };
}
