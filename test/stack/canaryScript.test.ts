// The short-lived canary's script, run by /bin/sh as pulumi-command v1.2.1 runs `create`
// (provider/pkg/provider/local/commandOutputs.go: `/bin/sh -c <create>`, os.Environ() plus
// `environment`), against stand-in docker, ssh and npm (the verifier) that record what they got.
// It must start the canary from the given image with the eval profile, its own scratch volume and
// a loopback port docker picks, verify every check, and remove the canary and its volume whether
// the verification passed or not; the API key never appears on an argv.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  assertCanaryNamesFree,
  CANARY_CONTAINER_NAME,
  CANARY_IMAGE_ENV,
  CANARY_SCRATCH_VOLUME,
  type CanaryScriptArgs,
  canaryScript,
} from "../../components/canaryScript";

const KEY = "k".repeat(48);
const IMAGE = `sha256:${"c".repeat(64)}`;

function args(dockerHost: string): CanaryScriptArgs {
  return {
    revision: "d".repeat(40),
    containerPort: 8086,
    bindAddress: "127.0.0.1",
    modelCacheVolumeName: "sir-convert-a-lot-model-cache",
    modelCachePath: "/var/cache/sir-convert-a-lot",
    gpuDevices: ["/dev/kfd", "/dev/dri"],
    gpuGroups: ["video", "render"],
    logMaxSize: "50m",
    logMaxFiles: 5,
    daemonLogOpts: {},
    torchVersion: "2.10.0+rocm7.1",
    dockerHost,
    sshOpts: ["-o", "ConnectTimeout=15"],
    timeoutSeconds: 600,
    evidenceRoot: ".verification",
    laneContainerNames: ["sir_convert_a_lot_prod", "sir_convert_a_lot_eval"],
    laneDataVolumes: ["sir-convert-a-lot-prod-data", "sir-convert-a-lot-eval-data"],
  };
}

const FAKE_DOCKER = `#!/bin/sh
# argv, one JSON array per call
node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >> "$WORK/docker.log"
for a in "$@"; do
  case "$a" in
    run) cat > "$WORK/run.stdin"; exit "\${DOCKER_RUN_EXIT:-0}";;
    port) echo "127.0.0.1:49153"; exit 0;;
  esac
done
exit 0
`;
// ssh stand-in: drops options and the destination, runs the remote command with the local shell
// (as sshd hands it to the login shell), stdin passed through.
const FAKE_SSH = `#!/bin/sh
echo "$*" >> "$WORK/ssh.log"
while [ $# -gt 0 ]; do case "$1" in -o|-p) shift 2;; -*) shift;; *) shift; break;; esac; done
exec /bin/sh -c "$*"
`;
const FAKE_NPM = `#!/bin/sh
node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" > "$WORK/verify.argv"
env > "$WORK/verify.env"
while [ $# -gt 0 ]; do [ "$1" = --evidence-dir ] && mkdir -p "$2"; shift; done
exit "\${VERIFY_EXIT:-0}"
`;

interface Outcome {
  status: number | null;
  stderr: string;
  docker: string[][];
  runStdin: string;
  verifyArgv: string[];
  sshLog: string;
  work: string;
}

function runScript(dockerHost: string, env: Record<string, string> = {}): Outcome {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "canary-script-"));
  const bin = path.join(work, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "ssh"), FAKE_SSH, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "npm"), FAKE_NPM, { mode: 0o755 });
  const res = spawnSync("/bin/sh", ["-c", canaryScript(args(dockerHost))], {
    cwd: work,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, WORK: work, SIR_CONVERT_A_LOT_API_KEY: KEY, [CANARY_IMAGE_ENV]: IMAGE, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  const read = (f: string) => (fs.existsSync(path.join(work, f)) ? fs.readFileSync(path.join(work, f), "utf8") : "");
  return {
    status: res.status,
    stderr: res.stderr,
    docker: read("docker.log")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    runStdin: read("run.stdin"),
    verifyArgv: read("verify.argv") ? JSON.parse(read("verify.argv")) : [],
    sshLog: read("ssh.log"),
    work,
  };
}

/** The docker calls without the `-H <host>` prefix. */
function calls(o: Outcome): string[][] {
  return o.docker.map((c) => (c[0] === "-H" ? c.slice(2) : c));
}

describe.each(["ssh://hemma", "unix:///var/run/docker.sock"])("canary script over %s", (dockerHost) => {
  let passed: Outcome;
  let failed: Outcome;
  beforeAll(() => {
    passed = runScript(dockerHost);
    failed = runScript(dockerHost, { VERIFY_EXIT: "3" });
  });
  afterAll(() => {
    for (const o of [passed, failed]) fs.rmSync(o.work, { recursive: true, force: true });
  });

  test("starts the canary from the image with the eval profile, scratch volume and a docker-picked loopback port", () => {
    expect(passed.status).toBe(0);
    const run = calls(passed).find((c) => c[0] === "run")!;
    expect(run).toBeDefined();
    expect(run).toEqual(expect.arrayContaining(["--name", CANARY_CONTAINER_NAME, "--publish", "127.0.0.1::8086/tcp"]));
    expect(run.slice(-4)).toEqual([IMAGE, "pdm", "run", "serve:sir-convert-a-lot-eval"]);
    const volumes = run.flatMap((a, i) => (run[i - 1] === "--volume" ? [a] : []));
    expect(volumes).toEqual([`${CANARY_SCRATCH_VOLUME}:/var/lib/sir-convert-a-lot/eval`, "sir-convert-a-lot-model-cache:/var/cache/sir-convert-a-lot"]);
    expect(run).toEqual(
      expect.arrayContaining(["--device", "/dev/kfd:/dev/kfd:rwm", "--group-add", "render", "--env", "SIR_CONVERT_A_LOT_EVAL_ALLOW_CPU_ONLY=0"]),
    );
    expect(JSON.stringify(passed.docker)).not.toMatch(/prod-data|eval-data|28085|28086/);
  });

  test("the API key reaches docker on stdin and the verifier in its environment, never an argv", () => {
    expect(passed.runStdin).toBe(`SIR_CONVERT_A_LOT_API_KEY=${KEY}\n`);
    expect(JSON.stringify(passed.docker)).not.toContain(KEY);
    expect(JSON.stringify(passed.verifyArgv)).not.toContain(KEY);
    expect(passed.sshLog).not.toContain(KEY);
    expect(fs.readFileSync(path.join(passed.work, "verify.env"), "utf8")).toContain(`SIR_CONVERT_A_LOT_API_KEY=${KEY}`);
  });

  test("verifies every check against the port docker picked, evidence in a timestamped folder with latest", () => {
    const v = passed.verifyArgv;
    expect(v.slice(0, 4)).toEqual(["run", "--silent", "verify", "--"]);
    expect(v[v.indexOf("--service-url") + 1]).toBe("http://127.0.0.1:49153");
    expect(v[v.indexOf("--checks") + 1]).toBe("readiness,liveness,metrics,gpu,smoke");
    expect(v[v.indexOf("--container") + 1]).toBe(CANARY_CONTAINER_NAME);
    expect(v[v.indexOf("--profile") + 1]).toBe("eval");
    const dir = v[v.indexOf("--evidence-dir") + 1];
    expect(dir).toMatch(/^\.verification\/canary-d{12}\/all\/\d{8}T\d{6}Z$/);
    expect(fs.realpathSync(path.join(passed.work, ".verification/canary-dddddddddddd/all/latest"))).toBe(fs.realpathSync(path.join(passed.work, dir)));
  });

  test.each([
    ["passed", () => passed],
    ["failed", () => failed],
  ] as const)("removes the canary and its volume when the verification %s", (_label, get) => {
    const o = get();
    const c = calls(o);
    const last = c.slice(-2);
    expect(last).toEqual([
      ["rm", "--force", CANARY_CONTAINER_NAME],
      ["volume", "rm", "--force", CANARY_SCRATCH_VOLUME],
    ]);
    // A leftover of a killed run goes before the new canary starts.
    expect(c.slice(0, 2)).toEqual(last);
    expect(o.stderr).toContain(`canary: removed ${CANARY_CONTAINER_NAME}`);
  });

  test("a failed verification fails the command with the verifier's status and names the evidence", () => {
    expect(failed.status).toBe(3);
    expect(failed.stderr).toMatch(/canary: verification failed \(evidence: \.verification\/canary-d{12}\/all\/\d{8}T\d{6}Z\); prod is not touched/);
  });
});

describe("canary script refusals", () => {
  test("a container that does not start fails the command and still removes the canary", () => {
    const o = runScript("unix:///var/run/docker.sock", { DOCKER_RUN_EXIT: "125" });
    try {
      expect(o.status).toBe(3);
      expect(o.verifyArgv).toEqual([]);
      expect(calls(o).slice(-2)).toEqual([
        ["rm", "--force", CANARY_CONTAINER_NAME],
        ["volume", "rm", "--force", CANARY_SCRATCH_VOLUME],
      ]);
    } finally {
      fs.rmSync(o.work, { recursive: true, force: true });
    }
  });

  test("an image value that is not a sha256 id is refused before docker runs", () => {
    const o = runScript("unix:///var/run/docker.sock", { [CANARY_IMAGE_ENV]: "sha256:x; rm -rf /" });
    try {
      expect(o.status).toBe(2);
      expect(o.docker).toEqual([]);
    } finally {
      fs.rmSync(o.work, { recursive: true, force: true });
    }
  });

  test("a lane named like the canary, or a volume named like its scratch volume, is refused", () => {
    const base = args("ssh://hemma");
    expect(() => assertCanaryNamesFree({ ...base, laneContainerNames: [CANARY_CONTAINER_NAME] })).toThrow(/canary's own name/);
    expect(() => assertCanaryNamesFree({ ...base, laneDataVolumes: [CANARY_SCRATCH_VOLUME] })).toThrow(/scratch volume/);
    expect(() => assertCanaryNamesFree(base)).not.toThrow();
  });
});
