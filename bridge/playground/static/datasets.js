// Test set files as rows: JSONL (one JSON object a line), a JSON array, or CSV with a header.

/** Rows from a file's text; `name` picks the format by its extension, else by the content. */
export function parseRows(text, name = "") {
  const lower = name.toLowerCase();
  const trimmed = text.trim();
  if (!trimmed) throw new Error("the file is empty");
  if (lower.endsWith(".csv") || lower.endsWith(".tsv")) return parseCsv(text, lower.endsWith(".tsv") ? "\t" : ",");
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return parseJsonl(text);
  if (trimmed.startsWith("[")) return parseJsonArray(trimmed);
  if (trimmed.startsWith("{")) return parseJsonl(text);
  return parseCsv(text, ",");
}

function asRow(value, where) {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${where} is not a JSON object`);
  }
  return value;
}

function parseJsonArray(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (exc) {
    throw new Error(`the JSON array does not parse: ${exc.message}`);
  }
  return data.map((row, i) => asRow(row, `item ${i + 1}`));
}

export function parseJsonl(text) {
  const rows = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let value;
    try {
      value = JSON.parse(line);
    } catch (exc) {
      throw new Error(`line ${i + 1} is not JSON: ${exc.message}`);
    }
    rows.push(asRow(value, `line ${i + 1}`));
  });
  if (!rows.length) throw new Error("the file has no rows");
  return rows;
}

/** RFC 4180 CSV: quoted fields may hold the separator, newlines and doubled quotes. */
export function parseCsv(text, separator = ",") {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const source = text.replace(/^\uFEFF/, "");
  while (i < source.length) {
    const c = source[i];
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === separator) {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && source[i + 1] === "\n") i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
    i += 1;
  }
  if (quoted) throw new Error("a quoted CSV field is never closed");
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  const nonEmpty = records.filter((r) => r.some((cell) => cell.trim() !== ""));
  if (nonEmpty.length < 2) throw new Error("the CSV needs a header line and at least one row");
  const [header, ...body] = nonEmpty;
  const names = header.map((n) => n.trim());
  if (names.some((n) => !n)) throw new Error("a CSV column has no name in the header line");
  return body.map((cells, r) => {
    if (cells.length > names.length) throw new Error(`CSV row ${r + 2} has more cells than the header`);
    return Object.fromEntries(names.map((n, c) => [n, cells[c] ?? ""]));
  });
}

/** Every column name of the rows, in order of first appearance. */
export function columnsOf(rows) {
  const names = new Set();
  for (const row of rows) for (const key of Object.keys(row)) names.add(key);
  return [...names];
}
