// The server's HTTP API (DESIGN.md section 8): JSON requests and EventSource streams.

// Drafts belong to this browser's session: the server gives the page an HttpOnly cookie
// (`rb_session`) that every fetch and EventSource of the page sends by itself.

// A page being left closes its streams: that is not a lost connection to report.
let leaving = false;
for (const name of ["beforeunload", "pagehide"]) {
  window.addEventListener(name, () => {
    leaving = true;
  });
}
window.addEventListener("pageshow", () => {
  leaving = false;
});

/** An HTTP error answered by the server, with its `detail`. */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

/** Call the API; resolves with the JSON answer, rejects with an ApiError. */
export async function api(method, path, body) {
  const init = {
    method,
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, `the server cannot be reached (${exc.message})`, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    throw new ApiError(response.status, detail || response.statusText, data);
  }
  return data;
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const ref = (kind, id) => `${kind}:${id}`;
export const enc = encodeURIComponent;

/**
 * Listen to an EventSource: `handlers` maps event names to functions of the parsed data.
 * The browser reconnects by itself with Last-Event-ID; `onclosed` runs when it gives up.
 * Returns `close()`.
 */
export function listen(path, handlers, { onclosed, onopen } = {}) {
  const source = new EventSource(path);
  let closed = false;
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      if (closed) return;
      let data = null;
      try {
        data = event.data ? JSON.parse(event.data) : null;
      } catch {
        data = event.data;
      }
      handler(data, event);
    });
  }
  source.addEventListener("open", () => onopen?.());
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED && !closed && !leaving) {
      closed = true;
      onclosed?.();
    }
  });
  return {
    close() {
      closed = true;
      source.close();
    },
    get live() {
      return !closed;
    },
  };
}

/** Runnables of one kind (or all): `{items, total}`. */
export function listRunnables(kind, { limit = 200, offset = 0 } = {}) {
  return api("GET", `/runnables${query({ kind, limit, offset })}`);
}

/** What a runnable is called in lists. */
export function runnableLabel(item) {
  return item.name || item.slug || item.id;
}
