// The playground's entry: the section router, the active model's badge, global shortcuts.

import { api } from "./api.js";
import { fill, h } from "./dom.js";

const VIEWS = {
  prompts: () => import("./prompts.js"),
  chat: () => import("./chat.js"),
  compare: () => import("./compare.js"),
  tests: () => import("./testsets.js"),
  runs: () => import("./runs.js"),
};
const ORDER = Object.keys(VIEWS);
const TITLE = "Playground · runnable-bridge";

const main = document.getElementById("main");
let unmount = null;
let generation = 0;

const app = {
  info: null,
  /** Mark the page busy (a run is streaming): shown in the tab title. */
  setBusy(busy) {
    document.title = busy ? `● Running · ${TITLE}` : TITLE;
    document.body.classList.toggle("is-busy", busy);
  },
};

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const view = VIEWS[parts[0]] ? parts[0] : "prompts";
  return { view, params: parts.slice(1) };
}

async function route() {
  const { view, params } = parseHash();
  const mine = ++generation;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const previous = unmount;
  unmount = null;
  previous?.();
  app.setBusy(false);
  document.body.dataset.view = view;
  try {
    const module = await VIEWS[view]();
    if (mine !== generation) return;
    const done = await module.mount(main, params, app);
    if (mine !== generation) done?.();
    else unmount = done;
  } catch (exc) {
    if (mine !== generation) return;
    fill(main, h("div", { class: "banner banner-error", role: "alert" }, `This section failed to load: ${exc.message}`));
  }
}

async function showModel() {
  const badge = document.getElementById("model-badge");
  try {
    app.info = await api("GET", "/info");
  } catch {
    return; // an older server has no /info: the badge stays hidden
  }
  const model = app.info?.model || {};
  const name = model.name || "model";
  badge.hidden = false;
  badge.classList.toggle("is-offline", Boolean(model.offline));
  fill(
    badge,
    h("span", { class: "model-dot", "aria-hidden": "true" }),
    model.offline ? `Offline model: ${name}` : `Model: ${name}`,
  );
  badge.title =
    model.label ||
    (model.offline
      ? "Replies come from the built-in offline model, not a real LLM. Start the server with --provider-url to use one."
      : `Replies come from ${model.base_url || "the configured provider"}`);
}

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
  if (event.altKey && /^[1-5]$/.test(event.key)) {
    event.preventDefault();
    location.hash = `#/${ORDER[Number(event.key) - 1]}`;
  } else if (event.key === "?" && !typing) {
    event.preventDefault();
    document.getElementById("shortcuts").showModal();
  }
});
document.getElementById("shortcuts-button").addEventListener("click", () => {
  document.getElementById("shortcuts").showModal();
});

window.addEventListener("hashchange", route);
// The sections read which model is active (placeholders), so it is known before they mount.
showModel().finally(route);
