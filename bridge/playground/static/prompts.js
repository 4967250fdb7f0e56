// The Prompts section: the list, the draft editor, the live input ports and a streamed run.

import { api, enc, listRunnables, runnableLabel } from "./api.js";
import { PromptEditor } from "./editor.js";
import { autoGrow, fill, h, nextId, toast } from "./dom.js";
import { OutputPanel } from "./output.js";

const runKey = (ref) => `rb.run.${ref}`;
const inputsKey = (ref) => `rb.inputs.${ref}`;

/** The tools the server offers every prompt, as a hint under the inputs (null: none). */
function offeredTools(tools) {
  if (!tools?.length) return null;
  return h(
    "p",
    { class: "hint tools-hint", "data-testid": "tools-hint" },
    "Tools the model may call: ",
    tools.map((tool, index) => [
      index ? ", " : "",
      h("code", { title: tool.description || "" }, tool.name),
      tool.requires_approval ? " (asks you first, in Chat)" : "",
    ]),
  );
}

/** Mount the section into `main`; `params[0]` is the prompt's ref. Returns unmount. */
export async function mount(main, params, app) {
  const list = h("ul", { class: "item-list", "data-testid": "prompt-list", "aria-label": "Prompts" });
  const filter = h("input", {
    type: "search",
    class: "search",
    placeholder: "Filter prompts",
    "aria-label": "Filter prompts",
    oninput: () => renderList(),
  });
  const center = h("div", { class: "center-column" });
  const side = h("div", { class: "side-column" });
  fill(
    main,
    h(
      "div",
      { class: "view prompts-view" },
      h("aside", { class: "sidebar", "aria-label": "Prompt list" }, h("h2", { class: "section-title" }, "Prompts"), filter, list),
      center,
      side,
    ),
  );

  let items = [];
  let current = params[0] ? decodeURIComponent(params[0]) : null;
  const dirtyRefs = new Set();

  function renderList() {
    const needle = filter.value.trim().toLowerCase();
    fill(
      list,
      items
        .filter((item) => !needle || runnableLabel(item).toLowerCase().includes(needle))
        .map((item) => {
          const ref = `${item.kind}:${item.id}`;
          return h(
            "li",
            {},
            h(
              "a",
              {
                href: `#/prompts/${enc(ref)}`,
                class: "item",
                "aria-current": ref === current ? "page" : null,
                "data-ref": ref,
              },
              h("span", { class: "item-name" }, runnableLabel(item)),
              dirtyRefs.has(ref) ? h("span", { class: "dirty-dot", title: "Unsaved draft", "aria-label": "unsaved draft" }) : null,
              item.kind === "builtin" ? h("span", { class: "item-meta" }, "built-in") : null,
              item.version !== null && item.version !== undefined ? h("span", { class: "item-meta" }, `v${item.version}`) : null,
            ),
          );
        }),
    );
  }

  async function loadList() {
    try {
      const [prompts, builtins] = await Promise.all([
        listRunnables("prompt"),
        listRunnables("builtin").catch(() => ({ items: [] })),
      ]);
      items = [...prompts.items, ...builtins.items];
    } catch (exc) {
      toast(`Prompts could not be listed: ${exc.message}`, "error");
    }
    renderList();
  }

  await loadList();
  if (!current && items.length) {
    const first = items[0];
    location.replace(`#/prompts/${enc(`${first.kind}:${first.id}`)}`);
    return () => {};
  }
  if (!current) {
    fill(center, h("div", { class: "empty" }, h("h2", {}, "No prompts yet"), h("p", {}, "Start the server with its seeded examples, or add prompts through the API.")));
    return () => {};
  }

  // -- the runner panel: inputs from the live ports, run, output ----------------------------
  const stored = JSON.parse(sessionStorage.getItem(inputsKey(current)) || "{}");
  const values = new Map(Object.entries(stored));
  let shownPorts = [];
  let goodPorts = [];
  const portsBox = h("div", { class: "ports", "data-testid": "ports" });
  const toolsHint = offeredTools(app.info?.tools);
  // A json_schema response format: the output ports its schema gives, shown beside the inputs.
  const outputPortsBox = h("section", { class: "panel output-ports", "aria-label": "Output ports", "data-testid": "output-ports", hidden: true });
  const output = new OutputPanel({ label: "Reply", testid: "output" });
  const runButton = h(
    "button",
    { type: "button", class: "button primary", "data-testid": "run", title: "Run (Ctrl+Enter)", onclick: () => run() },
    "Run",
    h("kbd", { class: "kbd-hint" }, "Ctrl ⏎"),
  );
  const stopButton = h(
    "button",
    { type: "button", class: "button", "data-testid": "stop", title: "Stop (Esc)", disabled: true, onclick: () => output.cancel() },
    "Stop",
  );
  fill(
    side,
    h(
      "section",
      { class: "panel", "aria-label": "Inputs" },
      h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "Inputs"), h("span", { class: "hint" }, "from the template's variables")),
      portsBox,
      toolsHint,
      h("div", { class: "button-row" }, runButton, stopButton),
    ),
    outputPortsBox,
    output.el,
  );

  function showOutputPorts(ports, settings) {
    const format = settings?.response_format;
    const structured = format?.type === "json_schema" && ports.length > 0;
    outputPortsBox.hidden = !structured;
    if (!structured) return;
    fill(
      outputPortsBox,
      h("div", { class: "panel-head" }, h("h2", { class: "section-title" }, "Output ports"), h("span", { class: "hint" }, `from the JSON schema “${format.json_schema?.name || "response"}”`)),
      h("ul", { class: "port-list" }, ports.map((port) =>
        h("li", { "data-output-port": port.key },
          h("code", { class: "port-key" }, port.key),
          h("span", { class: "port-type" }, port.type || "any"),
          port.required ? h("span", { class: "required", title: "required" }, "required") : null,
        ))),
    );
  }

  function saveInputs() {
    sessionStorage.setItem(inputsKey(current), JSON.stringify(Object.fromEntries(values)));
  }

  function showPorts(ports, errors) {
    // While a template is half-typed, the ports it had stay: the user's values are kept.
    if (!errors.length) goodPorts = ports;
    const keys = new Set(ports.map((p) => p.key));
    const kept = errors.length ? goodPorts.filter((p) => !keys.has(p.key)).map((p) => ({ ...p, kept: true })) : [];
    const next = [...ports, ...kept];
    const signature = (list) => JSON.stringify(list.map((p) => [p.key, p.required, p.kept || false]));
    if (signature(next) === signature(shownPorts)) return;
    shownPorts = next;
    const focusedKey = document.activeElement?.dataset?.port;
    if (!shownPorts.length) {
      fill(portsBox, h("p", { class: "placeholder" }, "This prompt has no variables. Add one with {{name}}."));
      return;
    }
    fill(
      portsBox,
      shownPorts.map((port) => {
        const id = nextId(`port-${port.key}`);
        return h(
          "div",
          { class: `field port${port.kept ? " is-kept" : ""}`, "data-testid": `port-${port.key}` },
          h(
            "label",
            { for: id },
            port.name || port.key,
            port.required ? h("span", { class: "required", title: "required" }, " *") : null,
            h("code", { class: "port-key" }, port.key),
          ),
          autoGrow(h("textarea", {
            id,
            rows: 1,
            "data-port": port.key,
            placeholder: port.default !== null && port.default !== undefined ? `default: ${port.default}` : "",
            value: values.get(port.key) ?? "",
            oninput: (e) => {
              values.set(port.key, e.target.value);
              saveInputs();
            },
          })),
        );
      }),
    );
    if (focusedKey) portsBox.querySelector(`[data-port="${CSS.escape(focusedKey)}"]`)?.focus();
  }

  function setRunning(running) {
    runButton.disabled = running;
    stopButton.disabled = !running;
    app.setBusy(running);
  }

  function follow(runId) {
    sessionStorage.setItem(runKey(current), runId);
    setRunning(true);
    output.follow(runId, {
      onfinish: (done) => {
        // A lost connection keeps the run's id: the run goes on, and a reload rejoins it.
        if (!done.lost) sessionStorage.removeItem(runKey(current));
        setRunning(false);
      },
    });
  }

  async function run() {
    if (output.busy) return;
    await editor.flush();
    clearTimeout(portsTimer);
    latestPorts(); // the ports of the draft just sent, not the ones shown a moment ago
    const inputs = {};
    const missing = [];
    for (const port of shownPorts) {
      const value = values.get(port.key);
      if (!port.kept && value !== undefined && value !== "") inputs[port.key] = value;
      else if (!port.kept && port.required) missing.push(port);
    }
    portsBox.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    if (missing.length) {
      // Said here, before any request: the field to fill is named and focused.
      for (const port of missing) portsBox.querySelector(`[data-port="${CSS.escape(port.key)}"]`)?.setAttribute("aria-invalid", "true");
      output.reset();
      output.fail(`Fill in the required ${missing.length > 1 ? "inputs" : "input"}: ${missing.map((p) => p.name || p.key).join(", ")}.`);
      portsBox.querySelector("[aria-invalid]")?.focus();
      return;
    }
    output.pending();
    setRunning(true);
    try {
      const { run_id: runId } = await api("POST", `/runnables/${enc(current)}/runs`, { inputs });
      follow(runId);
    } catch (exc) {
      output.fail(exc.message);
      setRunning(false);
    }
  }

  // -- the editor ----------------------------------------------------------------------------
  let portsTimer = 0;
  let latestPorts = () => {};
  const editor = new PromptEditor(current, {
    defaultModel: app.info?.model?.name,
    onstate: ({ dirty, ports, errors, outputPorts, settings }) => {
      showOutputPorts(outputPorts, settings);
      if (dirty !== dirtyRefs.has(current)) {
        if (dirty) dirtyRefs.add(current);
        else dirtyRefs.delete(current);
        renderList();
      }
      // Ports and template errors arrive as separate events of one change: let both land
      // before deciding which ports a half-typed template keeps.
      clearTimeout(portsTimer);
      latestPorts = () => showPorts(ports, errors);
      portsTimer = setTimeout(latestPorts, 80);
    },
    onsaved: () => loadList(),
  });
  center.append(editor.el);
  try {
    await editor.open();
  } catch (exc) {
    fill(center, h("div", { class: "banner banner-error", role: "alert" }, `This prompt could not be opened: ${exc.message}`));
  }

  // A reload in the middle of a run joins its stream again (replayed from the start).
  const live = sessionStorage.getItem(runKey(current));
  if (live) follow(live);

  const onKey = (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key === "Enter") {
      event.preventDefault();
      run();
    } else if (mod && event.key.toLowerCase() === "s") {
      event.preventDefault();
      editor.save();
    } else if (event.key === "Escape" && output.busy) {
      event.preventDefault();
      output.cancel();
    }
  };
  document.addEventListener("keydown", onKey);
  return () => {
    document.removeEventListener("keydown", onKey);
    clearTimeout(portsTimer);
    editor.close();
    output.close?.();
    app.setBusy(false);
  };
}
