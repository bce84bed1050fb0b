// Strict parser for the Prometheus text exposition format (0.0.4 / 1.0.0 with legacy metric names).
// Rejects anything malformed with the line number, so a scrape either parses fully or fails clearly.
// Linear in its input: no regex with overlapping quantifiers (a long digit run once backtracked for
// tens of seconds), and labels are scanned in place with sticky regexes (no slicing per label).

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A label name at `lastIndex` (sticky: matches in place, never scans ahead). */
const LABEL_AT = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function suffixesFor(type: MetricType): string[] {
  switch (type) {
    case "histogram":
      return ["_bucket", "_sum", "_count"];
    case "summary":
      return ["", "_sum", "_count"];
    default:
      return [""];
  }
}

function belongsTo(family: MetricFamily, sampleName: string): boolean {
  return suffixesFor(family.type).some((s) => family.name + s === sampleName);
}

function parseValue(raw: string, lineNo: number): number {
  if (raw === "+Inf" || raw === "Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return NaN;
  // unambiguous: the fraction needs its dot, so no digit can match two quantifiers
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(raw)) {
    throw new ExpositionError(lineNo, `invalid sample value ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function unescapeLabel(value: string, allowQuote: boolean, lineNo: number): string {
  return value.replace(/\\(.)/g, (_m, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    if (c === '"' && allowQuote) return '"';
    throw new ExpositionError(lineNo, `invalid escape \\${c}`);
  });
}

/** Parses `{a="x",b="y"}` starting at `text[0] === "{"`; returns labels and the rest of the line. */
function parseLabels(text: string, lineNo: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === " ") i++;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    LABEL_AT.lastIndex = i;
    const nameMatch = LABEL_AT.exec(text);
    if (!nameMatch) throw new ExpositionError(lineNo, `invalid label name at ${JSON.stringify(text.slice(i, i + 20))}`);
    const name = nameMatch[0];
    i += name.length;
    while (text[i] === " ") i++;
    if (text[i] !== "=") throw new ExpositionError(lineNo, `expected = after label ${name}`);
    i++;
    while (text[i] === " ") i++;
    if (text[i] !== '"') throw new ExpositionError(lineNo, `expected quoted value for label ${name}`);
    i++;
    const valueStart = i;
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new ExpositionError(lineNo, `unterminated value for label ${name}`);
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === '"') break;
      i++;
    }
    const raw = text.slice(valueStart, i);
    i++;
    if (name in labels) throw new ExpositionError(lineNo, `duplicate label ${name}`);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new ExpositionError(lineNo, `reserved label name ${name}`);
    labels[name] = unescapeLabel(raw, true, lineNo);
    while (text[i] === " ") i++;
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    throw new ExpositionError(lineNo, `expected , or } after label ${name}`);
  }
}

export function parseExposition(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new ExpositionError(text.split("\n").length, "exposition must end with a newline");
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;

  const switchTo = (name: string, lineNo: number): MetricFamily => {
    if (current?.name === name) return current;
    if (current) closed.add(current.name);
    if (closed.has(name)) throw new ExpositionError(lineNo, `metric family ${name} appears in more than one group`);
    let family = families.get(name);
    if (!family) {
      family = { name, type: "untyped", samples: [] };
      families.set(name, family);
    }
    current = family;
    return family;
  };

  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // plain comment
      const [, keyword, name, restRaw] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new ExpositionError(lineNo, `invalid metric name ${JSON.stringify(name)}`);
      const family = switchTo(name, lineNo);
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new ExpositionError(lineNo, `second HELP for ${name}`);
        family.help = unescapeLabel(restRaw ?? "", false, lineNo);
      } else {
        const type = (restRaw ?? "").trim();
        if (!TYPES.has(type)) throw new ExpositionError(lineNo, `invalid TYPE ${JSON.stringify(type)} for ${name}`);
        if (family.samples.length > 0) throw new ExpositionError(lineNo, `TYPE for ${name} after its samples`);
        if (typed.has(name)) throw new ExpositionError(lineNo, `second TYPE for ${name}`);
        typed.add(name);
        family.type = type as MetricType;
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new ExpositionError(lineNo, `invalid sample line ${JSON.stringify(line.slice(0, 60))}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, lineNo));
    const parts = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2 || parts[0] === "") {
      throw new ExpositionError(lineNo, `expected "<value> [timestamp]" after ${name}`);
    }
    const value = parseValue(parts[0] as string, lineNo);
    let timestampMs: number | undefined;
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) throw new ExpositionError(lineNo, `invalid timestamp ${JSON.stringify(parts[1])}`);
      timestampMs = Number(parts[1]);
    }
    const family = current && belongsTo(current, name) ? current : switchTo(name, lineNo);
    if (family.type === "histogram" && name.endsWith("_bucket") && labels.le === undefined) {
      throw new ExpositionError(lineNo, `histogram bucket ${name} without an le label`);
    }
    const seriesKey = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seriesSeen.has(seriesKey)) throw new ExpositionError(lineNo, `duplicate series ${name}${JSON.stringify(labels)}`);
    seriesSeen.add(seriesKey);
    family.samples.push({ name, labels, value, ...(timestampMs !== undefined ? { timestampMs } : {}) });
  });
  return families;
}

/** Sum of the values of samples named `name` whose labels include all of `match`. */
export function sumSamples(families: Map<string, MetricFamily>, name: string, match: Record<string, string>): number {
  let total = 0;
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
  }
  return total;
}

/** Checks a Content-Type is the text exposition format, version 0.0.4 or 1.0.0. */
export function checkExpositionContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return "no Content-Type header";
  const [mediaType, ...params] = contentType.split(";").map((s) => s.trim());
  if (mediaType?.toLowerCase() !== "text/plain") return `media type ${mediaType ?? ""} is not text/plain`;
  const version = params
    .map((p) => p.split("="))
    .find(([k]) => k?.toLowerCase() === "version")?.[1]
    ?.replace(/"/g, "");
  if (version !== "0.0.4" && version !== "1.0.0") return `version=${version ?? "(missing)"} is not 0.0.4 or 1.0.0`;
  return undefined;
}
