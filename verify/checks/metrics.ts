// metrics: /metrics is Prometheus text exposition (version 0.0.4 or 1.0.0), parses strictly, has the
// service's request counter and duration histogram, and counts the verifier's own requests.
import { describeResponse } from "../http/client";
import { checkExpositionContentType, type MetricFamily, parseExposition, sumSamples } from "../metrics/prometheus";
import { type Check, type CheckContext, FactFailure, fact } from "./context";

export const REQUESTS_TOTAL = "sir_convert_a_lot_http_requests_total";
export const REQUEST_DURATION = "sir_convert_a_lot_http_request_duration_seconds";
/** How many extra /healthz requests the check makes and then expects to see counted. */
export const PROBE_REQUESTS = 3;

async function scrape(ctx: CheckContext, label: string): Promise<Map<string, MetricFamily>> {
  const res = await ctx.client.sendRetrying({ method: "GET", path: "/metrics", label }, ctx.deadline);
  if (res.status !== 200) throw new FactFailure(fact("scrape", "HTTP 200 from GET /metrics", describeResponse(res)));
  const typeProblem = checkExpositionContentType(res.headers["content-type"]);
  if (typeProblem) {
    throw new FactFailure(fact("content_type", "Content-Type text/plain; version=0.0.4 or 1.0.0", `${res.headers["content-type"] ?? "none"} (${typeProblem})`));
  }
  try {
    return parseExposition(res.text());
  } catch (error) {
    throw new FactFailure(fact("exposition", "valid Prometheus text exposition from GET /metrics", (error as Error).message));
  }
}

function requireFamily(families: Map<string, MetricFamily>, name: string, type: MetricFamily["type"]): void {
  const family = families.get(name);
  if (!family) {
    const names = [...families.keys()].slice(0, 6).join(", ") || "none";
    throw new FactFailure(fact("family", `metric family ${name} (${type})`, `absent (families: ${names})`));
  }
  if (family.type !== type) throw new FactFailure(fact("family", `${name} of type ${type}`, `type ${family.type}`));
}

export const metricsCheck: Check = async (ctx, rec) => {
  const before = await scrape(ctx, "metrics_before");
  requireFamily(before, REQUESTS_TOTAL, "counter");
  requireFamily(before, REQUEST_DURATION, "histogram");
  const healthz = { method: "GET", path: "/healthz", status_code: "200" };
  const countBefore = sumSamples(before, REQUESTS_TOTAL, healthz);
  const histBefore = sumSamples(before, `${REQUEST_DURATION}_count`, { method: "GET", path: "/healthz" });

  for (let i = 0; i < PROBE_REQUESTS; i++) {
    const res = await ctx.client.sendRetrying({ method: "GET", path: "/healthz" }, ctx.deadline);
    if (res.status !== 200) throw new FactFailure(fact("probe_request", "HTTP 200 from GET /healthz", describeResponse(res)));
  }

  const after = await scrape(ctx, "metrics_after");
  requireFamily(after, REQUESTS_TOTAL, "counter");
  requireFamily(after, REQUEST_DURATION, "histogram");
  const countDelta = sumSamples(after, REQUESTS_TOTAL, healthz) - countBefore;
  const histDelta = sumSamples(after, `${REQUEST_DURATION}_count`, { method: "GET", path: "/healthz" }) - histBefore;
  const scrapesCounted = sumSamples(after, REQUESTS_TOTAL, { method: "GET", path: "/metrics" });
  if (countDelta < PROBE_REQUESTS) {
    rec.fail(fact("counting", `${REQUESTS_TOTAL}{path="/healthz"} to grow by >= ${PROBE_REQUESTS}`, `grew by ${countDelta}`));
  }
  if (histDelta < PROBE_REQUESTS) {
    rec.fail(fact("counting", `${REQUEST_DURATION}_count{path="/healthz"} to grow by >= ${PROBE_REQUESTS}`, `grew by ${histDelta}`));
  }
  if (scrapesCounted < 1) rec.fail(fact("counting", `the verifier's /metrics scrape counted in ${REQUESTS_TOTAL}`, "0"));
  rec.note(`${after.size} families; /healthz counter +${countDelta}, histogram +${histDelta}`);
};
