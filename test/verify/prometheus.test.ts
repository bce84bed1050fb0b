// The strict Prometheus text-format parser: accepts what prometheus_client writes, rejects malformed input.
import { checkExpositionContentType, ExpositionError, parseExposition, sumSamples } from "../../verify/metrics/prometheus";
import { RequestMetrics } from "../emulator/metrics";

const SAMPLE = `# HELP sir_convert_a_lot_http_requests_total Total HTTP requests.
# TYPE sir_convert_a_lot_http_requests_total counter
sir_convert_a_lot_http_requests_total{method="GET",path="/healthz",status_code="200"} 3.0
sir_convert_a_lot_http_requests_total{method="GET",path="/v1/convert/jobs/{job_id}",status_code="404"} 1.0
# HELP sir_convert_a_lot_http_requests_created Total HTTP requests.
# TYPE sir_convert_a_lot_http_requests_created gauge
sir_convert_a_lot_http_requests_created{method="GET",path="/healthz",status_code="200"} 1.7637e+09
# HELP sir_convert_a_lot_http_request_duration_seconds Latency.
# TYPE sir_convert_a_lot_http_request_duration_seconds histogram
sir_convert_a_lot_http_request_duration_seconds_bucket{le="0.005",method="GET",path="/healthz"} 2.0
sir_convert_a_lot_http_request_duration_seconds_bucket{le="+Inf",method="GET",path="/healthz"} 3.0
sir_convert_a_lot_http_request_duration_seconds_count{method="GET",path="/healthz"} 3.0
sir_convert_a_lot_http_request_duration_seconds_sum{method="GET",path="/healthz"} 0.0123
weird_label{v="a \\"quoted\\" \\\\ value\\nnext"} NaN 1700000000000
`;

describe("parseExposition", () => {
  test("parses families, types, labels with escapes, special values and timestamps", () => {
    const families = parseExposition(SAMPLE);
    expect(families.get("sir_convert_a_lot_http_requests_total")?.type).toBe("counter");
    expect(families.get("sir_convert_a_lot_http_requests_created")?.type).toBe("gauge");
    const hist = families.get("sir_convert_a_lot_http_request_duration_seconds");
    expect(hist?.type).toBe("histogram");
    expect(hist?.samples.map((s) => s.name)).toEqual([
      "sir_convert_a_lot_http_request_duration_seconds_bucket",
      "sir_convert_a_lot_http_request_duration_seconds_bucket",
      "sir_convert_a_lot_http_request_duration_seconds_count",
      "sir_convert_a_lot_http_request_duration_seconds_sum",
    ]);
    expect(hist?.samples[1]?.labels.le).toBe("+Inf");
    const weird = families.get("weird_label")?.samples[0];
    expect(weird?.labels.v).toBe('a "quoted" \\ value\nnext');
    expect(weird?.value).toBeNaN();
    expect(weird?.timestampMs).toBe(1700000000000);
    expect(sumSamples(families, "sir_convert_a_lot_http_requests_total", { path: "/healthz" })).toBe(3);
    expect(sumSamples(families, "sir_convert_a_lot_http_requests_total", {})).toBe(4);
  });

  test("parses the emulator's rendering of real counts", () => {
    const m = new RequestMetrics();
    m.observe("GET", "/healthz", 200, 0.002);
    m.observe("GET", "/healthz", 200, 0.3);
    const families = parseExposition(m.render());
    expect(sumSamples(families, "sir_convert_a_lot_http_request_duration_seconds_bucket", { le: "0.25" })).toBe(1);
    expect(sumSamples(families, "sir_convert_a_lot_http_request_duration_seconds_count", {})).toBe(2);
  });

  test.each([
    ["missing trailing newline", "a 1", /must end with a newline/],
    ["bad value", "a one\n", /line 1: invalid sample value "one"/],
    ["bad metric name", "# TYPE 9a counter\n", /invalid metric name/],
    ["unknown type", "# TYPE a countr\n", /invalid TYPE "countr"/],
    ["unterminated label", 'a{b="x} 1\n', /unterminated value for label b|expected , or }/],
    ["duplicate label", 'a{b="1",b="2"} 1\n', /duplicate label b/],
    ["duplicate series", "a 1\na 2\n", /line 2: duplicate series a/],
    ["split family", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n', /line 5: metric family a appears in more than one group/],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n", /TYPE for a after its samples/],
    ["bucket without le", "# TYPE h histogram\nh_bucket 1\n", /without an le label/],
    ["bad escape", 'a{b="\\t"} 1\n', /invalid escape/],
    ["junk after value", "a 1 2 3\n", /expected "<value> \[timestamp\]"/],
    ["bad timestamp", "a 1 soon\n", /invalid timestamp/],
  ])("rejects %s", (_name, text, message) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
    expect(() => parseExposition(text)).toThrow(message);
  });
});

describe("checkExpositionContentType", () => {
  test.each([
    ["text/plain; version=0.0.4; charset=utf-8", undefined],
    ["text/plain; version=1.0.0; charset=utf-8", undefined],
    ["text/plain; charset=utf-8", "version=(missing) is not 0.0.4 or 1.0.0"],
    ["application/openmetrics-text; version=1.0.0", "media type application/openmetrics-text is not text/plain"],
    [undefined, "no Content-Type header"],
  ])("%s", (contentType, problem) => {
    expect(checkExpositionContentType(contentType)).toBe(problem);
  });
});
