// A prompt's draft editor: messages, name, format and model settings. Every edit is
// PATCHed to this session's draft (in order, debounced); the runnable's watch brings back
// is_dirty, input ports, template errors and other sessions' saves.

import { api, enc, listen } from "./api.js";
import { autoGrow, fill, h, nextId, toast } from "./dom.js";

const ROLES = ["system", "user", "assistant"];
const FORMATS = [
  ["curly", "{{curly}}"],
  ["fstring", "{fstring}"],
  ["jinja2", "Jinja2"],
  ["mustache", "Mustache"],
];
const WATCHED = ["entity", "is_dirty", "input_ports", "output_ports", "template_errors"];
const PATCH_DELAY_MS = 120;

function contentText(content) {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .filter((part) => part && part.type === "text")
    .map((part) => part.text)
    .join("\n");
}

function editable(entity) {
  return {
    name: entity?.name ?? "",
    template_format: entity?.template_format ?? "curly",
    settings: { ...(entity?.settings ?? {}) },
    messages: (entity?.messages ?? []).map((m) => ({ ...m, content: contentText(m.content) })),
  };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export class PromptEditor {
  /** `onstate({dirty, ports, errors, outputPorts, settings})` runs whenever one of them changes. */
  constructor(refText, { onstate, onsaved, defaultModel }) {
    this.ref = refText;
    this.defaultModel = defaultModel;
    this.onstate = onstate;
    this.onsaved = onsaved;
    this.draft = null;
    this.dirty = false;
    this.ports = [];
    this.outputPorts = [];
    this.errors = [];
    this.timer = null;
    this.queue = Promise.resolve();
    this.inFlight = 0;
    this.watch = null;
    this.el = h("section", { class: "editor", "aria-label": "Prompt editor", "data-testid": "editor" });
  }

  async open() {
    fill(this.el, h("p", { class: "placeholder" }, "Loading…"));
    const snapshot = await api("GET", `/runnables/${enc(this.ref)}`);
    this.applySnapshot(snapshot, { force: true });
    window.addEventListener("pagehide", this.onLeave);
    this.watch = listen(`/runnables/${enc(this.ref)}/watch?selectors=${WATCHED.join(",")}`, {
      entity: (entity) => this.serverEntity(entity),
      is_dirty: (dirty) => this.setState({ dirty: Boolean(dirty) }),
      input_ports: (ports) => this.setState({ ports: ports || [] }),
      output_ports: (ports) => this.setState({ outputPorts: ports || [] }),
      template_errors: (errors) => this.setState({ errors: errors || [] }),
    });
  }

  close() {
    this.watch?.close();
    clearTimeout(this.timer);
    window.removeEventListener("pagehide", this.onLeave);
  }

  /** An edit typed just before a reload still reaches the draft (a keepalive request). */
  onLeave = () => {
    if (!this.pending) return;
    fetch(`/runnables/${enc(this.ref)}`, {
      method: "PATCH",
      keepalive: true,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(this.pending),
    });
    this.pending = null;
  };

  get busy() {
    return this.timer !== null || this.inFlight > 0;
  }

  applySnapshot(snapshot, { force = false } = {}) {
    const next = {
      dirty: Boolean(snapshot.is_dirty),
      ports: snapshot.input_ports || [],
      outputPorts: snapshot.output_ports || [],
    };
    if (Array.isArray(snapshot.template_errors)) next.errors = snapshot.template_errors;
    this.serverEntity(snapshot.entity, { force });
    this.setState(next);
  }

  /** The merged entity as the server sees it; shown unless the user is mid-edit. */
  serverEntity(entity, { force = false } = {}) {
    if (!entity) return;
    const incoming = editable(entity);
    if (!force && (this.busy || same(incoming, this.draft))) return;
    this.draft = incoming;
    this.render();
  }

  setState(next) {
    let changed = false;
    for (const [key, value] of Object.entries(next)) {
      if (!same(this[key], value)) {
        this[key] = value;
        changed = true;
      }
    }
    if (!changed) return;
    this.renderState();
    this.onstate?.({
      dirty: this.dirty,
      ports: this.ports,
      errors: this.errors,
      outputPorts: this.outputPorts,
      settings: this.draft?.settings || {},
    });
  }

  // -- editing ---------------------------------------------------------------------------

  edited(fields) {
    this.pending = { ...(this.pending || {}), ...fields };
    this.setState({ dirty: true });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), PATCH_DELAY_MS);
  }

  /** Send what is waiting; resolves once every PATCH so far has been answered. */
  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    const changes = this.pending;
    this.pending = null;
    if (changes) {
      this.inFlight += 1;
      this.queue = this.queue
        .then(() => api("PATCH", `/runnables/${enc(this.ref)}`, changes))
        .then((snapshot) => {
          this.inFlight -= 1;
          if (!this.busy) this.applySnapshot(snapshot);
        })
        .catch((exc) => {
          this.inFlight -= 1;
          toast(`The draft was not updated: ${exc.message}`, "error");
        });
    }
    return this.queue;
  }

  async save() {
    await this.flush();
    this.hideConflict();
    try {
      const snapshot = await api("POST", `/runnables/${enc(this.ref)}/save`);
      this.applySnapshot(snapshot, { force: true });
      this.setState({ dirty: false });
      toast("Saved", "success");
      this.onsaved?.(snapshot);
    } catch (exc) {
      if (exc.status === 409) this.showConflict(exc.body);
      else toast(`Not saved: ${exc.message}`, "error");
    }
  }

  async discard() {
    await this.flush();
    this.hideConflict();
    try {
      const snapshot = await api("POST", `/runnables/${enc(this.ref)}/discard`);
      this.applySnapshot(snapshot, { force: true });
      toast("Draft discarded");
    } catch (exc) {
      toast(`Not discarded: ${exc.message}`, "error");
    }
  }

  showConflict(body) {
    const versions =
      body && body.expected_version !== undefined && body.current_version !== undefined
        ? `Your draft was made on version ${body.expected_version}; version ${body.current_version} was saved since.`
        : "";
    fill(
      this.conflict,
      // The server keeps the draft over the version that won: discarding shows that
      // version, saving again overwrites it.
      h("div", {}, h("strong", {}, "This prompt was saved elsewhere since your draft began. "), versions),
      h(
        "div",
        { class: "banner-actions" },
        h("button", { type: "button", class: "button", onclick: () => this.discard() }, "Reload saved version"),
        h("button", { type: "button", class: "button danger", onclick: () => this.save() }, "Overwrite with my draft"),
      ),
    );
    this.conflict.hidden = false;
    this.conflict.querySelector("button")?.focus();
  }

  hideConflict() {
    if (this.conflict) this.conflict.hidden = true;
  }

  // -- rendering ---------------------------------------------------------------------------

  render() {
    const focused = document.activeElement?.dataset?.field;
    const d = this.draft;
    const nameId = nextId("prompt-name");
    const formatId = nextId("prompt-format");
    this.dirtyMark = h("span", { class: "dirty-badge", "data-testid": "dirty-mark", hidden: true }, "● Unsaved draft");
    this.saveButton = h(
      "button",
      { type: "button", class: "button primary", "data-testid": "save", onclick: () => this.save(), title: "Save (Ctrl+S)" },
      "Save",
    );
    this.discardButton = h(
      "button",
      { type: "button", class: "button", "data-testid": "discard", onclick: () => this.discard() },
      "Discard",
    );
    this.conflict = h("div", { class: "banner banner-warning", role: "alert", "data-testid": "conflict", hidden: true });
    this.errorBox = h("div", { class: "template-errors", role: "alert", "data-testid": "template-errors", hidden: true });
    this.messageList = h("ol", { class: "messages", "aria-label": "Messages" });
    d.messages.forEach((message, index) => this.messageList.append(this.messageCard(message, index)));

    const settings = d.settings;
    fill(
      this.el,
      h(
        "div",
        { class: "editor-head" },
        h("label", { class: "visually-hidden", for: nameId }, "Prompt name"),
        h("input", {
          id: nameId,
          class: "title-input",
          value: d.name,
          "data-field": "name",
          placeholder: "Untitled prompt",
          oninput: (e) => {
            d.name = e.target.value;
            this.edited({ name: d.name });
          },
        }),
        this.dirtyMark,
        h("span", { class: "spacer" }),
        this.discardButton,
        this.saveButton,
      ),
      this.conflict,
      this.errorBox,
      this.messageList,
      h(
        "button",
        { type: "button", class: "button ghost add-message", onclick: () => this.addMessage() },
        "+ Add message",
      ),
      h(
        "fieldset",
        { class: "settings" },
        h("legend", {}, "Model settings"),
        h(
          "div",
          { class: "settings-grid" },
          field("Template format", formatId,
            h("select", {
              id: formatId,
              "data-field": "format",
              onchange: (e) => {
                d.template_format = e.target.value;
                this.edited({ template_format: d.template_format });
              },
            }, FORMATS.map(([value, label]) => h("option", { value, selected: value === d.template_format }, label)))),
          this.settingInput("Model", "model", "text", settings.model ?? "", {
            placeholder: this.defaultModel ? `default: ${this.defaultModel}` : "default",
          }),
          this.settingInput("Temperature", "temperature", "number", settings.temperature ?? "", { step: "0.1", min: "0", max: "2", placeholder: "default" }),
          this.settingInput("Max tokens", "max_tokens", "number", settings.max_tokens ?? "", { step: "1", min: "1", placeholder: "no limit" }),
        ),
      ),
    );
    this.renderState();
    if (focused) this.el.querySelector(`[data-field="${focused}"]`)?.focus();
  }

  settingInput(label, key, type, value, extra = {}) {
    const id = nextId(`setting-${key}`);
    return field(label, id, h("input", {
      id, type, value, ...extra,
      "data-field": `setting-${key}`,
      oninput: (e) => {
        const raw = e.target.value;
        const settings = { ...this.draft.settings };
        if (raw === "") delete settings[key];
        else settings[key] = type === "number" ? Number(raw) : raw;
        this.draft.settings = settings;
        this.edited({ settings });
      },
    }));
  }

  messageCard(message, index) {
    const d = this.draft;
    const roleId = nextId("role");
    const textId = nextId("message");
    const sendMessages = () => this.edited({ messages: d.messages });
    const textarea = autoGrow(h("textarea", {
      id: textId,
      class: "template",
      rows: 3,
      spellcheck: "false",
      "data-field": `message-${index}`,
      "data-testid": `message-${index}`,
      value: message.content,
      oninput: (e) => {
        d.messages[index] = { ...d.messages[index], content: e.target.value };
        sendMessages();
      },
    }));
    return h(
      "li",
      { class: "message-card", "data-role": message.role },
      h(
        "div",
        { class: "message-head" },
        h("label", { class: "visually-hidden", for: roleId }, `Role of message ${index + 1}`),
        h("select", {
          id: roleId,
          class: "role-select",
          "data-field": `role-${index}`,
          onchange: (e) => {
            d.messages[index] = { ...d.messages[index], role: e.target.value };
            e.target.closest("li").dataset.role = e.target.value;
            sendMessages();
          },
        }, ROLES.map((role) => h("option", { value: role, selected: role === message.role }, role))),
        h("label", { class: "message-label", for: textId }, `Message ${index + 1}`),
        h("span", { class: "spacer" }),
        h("button", {
          type: "button",
          class: "icon-button",
          "aria-label": `Remove message ${index + 1}`,
          title: "Remove message",
          onclick: () => {
            d.messages.splice(index, 1);
            this.render();
            sendMessages();
          },
        }, "×"),
      ),
      textarea,
    );
  }

  addMessage() {
    const last = this.draft.messages.at(-1);
    this.draft.messages.push({ role: last?.role === "user" ? "assistant" : "user", content: "" });
    this.render();
    this.edited({ messages: this.draft.messages });
    this.el.querySelector(`[data-field="message-${this.draft.messages.length - 1}"]`)?.focus();
  }

  renderState() {
    if (!this.dirtyMark) return;
    this.dirtyMark.hidden = !this.dirty;
    this.saveButton.disabled = !this.dirty;
    this.discardButton.disabled = !this.dirty;
    this.el.classList.toggle("is-dirty", this.dirty);
    this.errorBox.hidden = this.errors.length === 0;
    fill(
      this.errorBox,
      h("strong", {}, "Template error"),
      h("ul", {}, this.errors.map((error) => h("li", {}, error.replace(/^message text (\d+):/, (_, n) => `Message ${Number(n) + 1}:`)))),
    );
    const broken = new Set(
      this.errors.map((e) => /message text (\d+)/.exec(e)?.[1]).filter(Boolean).map(Number),
    );
    this.messageList.querySelectorAll("textarea").forEach((area, index) => {
      if (broken.has(index)) area.setAttribute("aria-invalid", "true");
      else area.removeAttribute("aria-invalid");
    });
  }
}

function field(label, id, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}
