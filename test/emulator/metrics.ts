// The emulator's request metrics: a counter and a histogram labelled like the service's, rendered in
// the text format prometheus_client produces (including the `_created` gauge families).

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

interface Series {
  labels: Record<string, string>;
  value: number;
  created: number;
}

interface HistSeries {
  labels: Record<string, string>;
  buckets: number[];
  sum: number;
  count: number;
  created: number;
}

function labelText(labels: Record<string, string>): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
  return `{${body}}`;
}

function num(value: number): string {
  if (value === Infinity) return "+Inf";
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export class RequestMetrics {
  private readonly counters = new Map<string, Series>();
  private readonly histograms = new Map<string, HistSeries>();

  observe(method: string, path: string, statusCode: number, seconds: number): void {
    const now = Date.now() / 1000;
    const cLabels = { method, path, status_code: String(statusCode) };
    const cKey = JSON.stringify(cLabels);
    const c = this.counters.get(cKey) ?? { labels: cLabels, value: 0, created: now };
    c.value += 1;
    this.counters.set(cKey, c);
    const hLabels = { method, path };
    const hKey = JSON.stringify(hLabels);
    const h = this.histograms.get(hKey) ?? { labels: hLabels, buckets: BUCKETS.map(() => 0), sum: 0, count: 0, created: now };
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count += 1;
    this.histograms.set(hKey, h);
  }

  render(): string {
    const out: string[] = [];
    const c = "sir_convert_a_lot_http_requests";
    out.push(`# HELP ${c}_total Total HTTP requests.`, `# TYPE ${c}_total counter`);
    for (const s of this.counters.values()) out.push(`${c}_total${labelText(s.labels)} ${num(s.value)}`);
    out.push(`# HELP ${c}_created Total HTTP requests.`, `# TYPE ${c}_created gauge`);
    for (const s of this.counters.values()) out.push(`${c}_created${labelText(s.labels)} ${s.created}`);
    const h = "sir_convert_a_lot_http_request_duration_seconds";
    out.push(`# HELP ${h} HTTP request latency in seconds.`, `# TYPE ${h} histogram`);
    for (const s of this.histograms.values()) {
      BUCKETS.forEach((le, i) => {
        out.push(`${h}_bucket${labelText({ ...s.labels, le: String(le) })} ${num(s.buckets[i] ?? 0)}`);
      });
      out.push(`${h}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${num(s.count)}`);
      out.push(`${h}_count${labelText(s.labels)} ${num(s.count)}`);
      out.push(`${h}_sum${labelText(s.labels)} ${s.sum}`);
    }
    out.push(`# HELP ${h}_created HTTP request latency in seconds.`, `# TYPE ${h}_created gauge`);
    for (const s of this.histograms.values()) out.push(`${h}_created${labelText(s.labels)} ${s.created}`);
    return `${out.join("\n")}\n`;
  }
}
