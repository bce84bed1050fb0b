// `npm run logs`: the lane's container logs from Hemma over one ssh call (fake ssh in shell mode,
// test/bin's fake docker replaying the container's log on stderr as the service logs there).
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../ops/cli/logs";
import { logsScript, logsWords } from "../../ops/hemma/logsCommand";
import { captureContext } from "./helpers";
import { healthyContainer, makeSurfaceSandbox, type SurfaceSandbox } from "./surfaceSandbox";

describe("logs command line (pure)", () => {
  it("puts --since, --tail and --follow before the container name", () => {
    expect(logsWords("sir_convert_a_lot_prod", { follow: true, since: "10m", tail: 50 })).toEqual([
      "docker",
      "logs",
      "--since",
      "10m",
      "--tail",
      "50",
      "--follow",
      "sir_convert_a_lot_prod",
    ]);
    expect(logsScript("sir_convert_a_lot_eval", { follow: false, tail: 200 })).toBe("exec docker logs --tail 200 sir_convert_a_lot_eval");
    expect(logsScript("c", { follow: false, since: "2026-03-01T10:00:00Z" })).toBe("exec docker logs --since 2026-03-01T10:00:00Z c");
  });
});

describe("npm run logs", () => {
  let sb: SurfaceSandbox;
  afterEach(() => sb?.cleanup());

  function setup(): SurfaceSandbox {
    sb = makeSurfaceSandbox({});
    const logFile = path.join(sb.dir, "prod.log");
    fs.writeFileSync(logFile, `${Array.from({ length: 300 }, (_, i) => `INFO line ${i + 1}`).join("\n")}\n`);
    sb.setDocker({ containers: { sir_convert_a_lot_prod: { ...healthyContainer("prod"), logFile }, sir_convert_a_lot_eval: healthyContainer("eval") } });
    return sb;
  }
  const dockerCalls = () =>
    fs
      .readFileSync(sb.env.FAKE_DOCKER_LOG!, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).argv as string[]);

  it("shows the last 200 lines of the prod container by default", async () => {
    setup();
    const cap = captureContext(sb.env);
    expect(await main(["--lane", "prod"], cap.ctx)).toBe(0);
    expect(cap.err).toHaveLength(200);
    expect(cap.err[0]).toBe("INFO line 101");
    expect(cap.err[199]).toBe("INFO line 300");
    expect(dockerCalls()).toEqual([["logs", "--tail", "200", "sir_convert_a_lot_prod"]]);
    expect(sb.sshCalls()[0].argv).toContain("BatchMode=yes");
  });

  it("passes --follow and --since to docker on Hemma", async () => {
    setup();
    const cap = captureContext(sb.env);
    expect(await main(["--lane", "prod", "--follow", "--since", "10m"], cap.ctx)).toBe(0);
    expect(dockerCalls()).toEqual([["logs", "--since", "10m", "--follow", "sir_convert_a_lot_prod"]]);
    expect(cap.err).toHaveLength(300);
  });

  it("refuses a missing or unknown lane and a bad --since with exit 2, a missing container with what to do", async () => {
    setup();
    for (const argv of [[], ["--lane", "staging"], ["--lane", "prod", "--since", "yesterday; rm -rf /"]]) {
      const cap = captureContext(sb.env);
      expect(await main(argv, cap.ctx)).toBe(2);
      expect(cap.text()).toMatch(/^error: /m);
    }
    sb.setDocker({ containers: {} });
    const cap = captureContext(sb.env);
    expect(await main(["--lane", "eval"], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/error: container sir_convert_a_lot_eval \(eval lane\) does not exist on Hemma\n {2}what to do: `npm run status`/);
  });

  it("--help prints the flags and exits 0", async () => {
    setup();
    const cap = captureContext(sb.env);
    expect(await main(["--help"], cap.ctx)).toBe(0);
    expect(cap.text()).toMatch(/--lane <lane>[\s\S]*--follow[\s\S]*--since <when>/);
  });
});
