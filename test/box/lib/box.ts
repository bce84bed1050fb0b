// What the box suites know about the box: box.sh's recorded state (box.env: ssh port, keys, pinned
// known_hosts, docker version) as a typed object, the ssh options the stack's `sshOpts` takes, and
// whether the box is up here (else the reason, naming what to install).
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export const BOX_SCRIPT = path.resolve(__dirname, "..", "box.sh");
export const BOX_STATE = process.env.SIR_CONVERT_A_LOT_BOX_STATE ?? path.join(os.homedir(), ".local", "state", "sir-convert-a-lot-box");
/** Written by the jest global setup when the box could not be brought up (the reason, verbatim). */
export const BOX_UNAVAILABLE_FILE = path.join(BOX_STATE, "unavailable.txt");

export interface Box {
  state: string;
  sshPort: number;
  /** `ssh://root@127.0.0.1:<port>`: the stack's dockerHost on the box. */
  dockerHost: string;
  /** `Key=Value` ssh options (key, pinned known_hosts). */
  sshOptions: string[];
  /** The same as config `sshOpts` (`-o`, `Key=Value` pairs). */
  sshOpts: string[];
  dockerVersion: string;
  dockerApi: string;
  baseImage: string;
  renderGid: number;
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The box, or the reason it is not up (what to install / how to bring it up). */
export function boxOrReason(): Box | string {
  if (existsSync(BOX_UNAVAILABLE_FILE)) return readFileSync(BOX_UNAVAILABLE_FILE, "utf8").trim();
  const file = path.join(BOX_STATE, "box.env");
  if (!existsSync(file))
    return `the box is not up (${file} missing): run \`bash test/box/box.sh up\` as root, or run the box suites through jest (its global setup brings the box up)`;
  const env = readEnvFile(file);
  const sshOptions = [
    `IdentityFile=${env.BOX_SSH_KEY}`,
    "IdentitiesOnly=yes",
    `UserKnownHostsFile=${env.BOX_KNOWN_HOSTS}`,
    "StrictHostKeyChecking=yes",
    "LogLevel=ERROR",
  ];
  return {
    state: env.BOX_STATE!,
    sshPort: Number(env.BOX_SSH_PORT),
    dockerHost: env.BOX_DOCKER_HOST!,
    sshOptions,
    sshOpts: sshOptions.flatMap((o) => ["-o", o]),
    dockerVersion: env.BOX_DOCKER_VERSION ?? "",
    dockerApi: env.BOX_DOCKER_API ?? "",
    baseImage: env.BOX_BASE_IMAGE ?? "",
    renderGid: Number(env.BOX_RENDER_GID),
  };
}

/** Set to 1 to leave the box suites out on purpose (a machine without root or apt). */
export const SKIP_BOX_ENV = "SIR_CONVERT_A_LOT_SKIP_BOX_TESTS";

/**
 * `describe` for a box suite: runs it when the box is up. When it is not, the suite fails with
 * exactly what is missing, unless SIR_CONVERT_A_LOT_SKIP_BOX_TESTS=1 leaves it out on purpose
 * (then it registers nothing and says so): a missing box is never a silent pass.
 */
export function describeOnBox(name: string, body: (box: () => Box) => void): void {
  const found = boxOrReason();
  if (typeof found === "string") {
    if (process.env[SKIP_BOX_ENV] === "1") {
      // eslint-disable-next-line no-console
      console.warn(`box suite "${name}" left out on purpose (${SKIP_BOX_ENV}=1): ${found}`);
      return;
    }
    describe(name, () => {
      it("needs the box (test/box/box.sh up)", () => {
        throw new Error(`the box is not up: ${found}\nwhat to do: install what is named above, or leave the box suites out with ${SKIP_BOX_ENV}=1 npm test`);
      });
    });
    return;
  }
  describe(name, () => body(() => found));
}
