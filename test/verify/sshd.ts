// Starts a real OpenSSH server on 127.0.0.1 for tests: fresh host and client keys in a temp dir, the
// current user authorised by key, and SetEnv so remote commands find the fake rocm-smi/docker.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../verify/ssh/tunnel";

export const SSHD = "/usr/sbin/sshd";

export interface TestSshd {
  port: number;
  user: string;
  via: string;
  /** `-o` options (Key=Value) that point ssh at this server's identity and known_hosts. */
  sshOptions: string[];
  stop(): Promise<void>;
}

function waitForPort(port: number, child: ChildProcess, logs: () => string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        reject(new Error(`sshd exited ${child.exitCode}: ${logs()}`));
        return;
      }
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        if (Date.now() > until) reject(new Error(`sshd did not listen: ${logs()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startSshd(dir: string, env: Record<string, string>): Promise<TestSshd> {
  mkdirSync(dir, { recursive: true });
  const hostKey = path.join(dir, "host_ed25519");
  const clientKey = path.join(dir, "client_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey]);
  writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  writeFileSync(path.join(dir, "known_hosts"), `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
  const setEnv = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
    "StrictModes no",
    "UsePAM no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "AllowTcpForwarding yes",
    "PermitUserEnvironment no",
    `SetEnv ${setEnv}`,
    "LogLevel ERROR",
  ].join("\n");
  const configFile = path.join(dir, "sshd_config");
  writeFileSync(configFile, `${config}\n`);
  if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation dir
  let logs = "";
  const child = spawn(SSHD, ["-D", "-e", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (d: Buffer) => (logs += d.toString()));
  await waitForPort(port, child, () => logs, 10_000);
  const user = os.userInfo().username;
  return {
    port,
    user,
    via: `ssh://${user}@127.0.0.1:${port}`,
    sshOptions: [
      `IdentityFile=${clientKey}`,
      "IdentitiesOnly=yes",
      `UserKnownHostsFile=${path.join(dir, "known_hosts")}`,
      "StrictHostKeyChecking=yes",
      "LogLevel=ERROR",
    ],
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
  };
}

/**
 * A scratch folder with a real sshd whose remote commands find the fake docker/rocm-smi first
 * (`binDir`) and run with a clean HOME (the test user's shell start-up files stay out).
 */
export async function startSshdWithFakeTools(prefix: string, binDir: string): Promise<{ dir: string; sshd: TestSshd; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(dir, "home"));
  const sshd = await startSshd(path.join(dir, "sshd"), {
    PATH: `${binDir}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    FAKE_DOCKER_CONFIG: path.join(dir, "docker.json"),
    FAKE_GPU_STATE_DIR: path.join(dir, "gpu"),
    HOME: path.join(dir, "home"),
  });
  return {
    dir,
    sshd,
    async stop() {
      await sshd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
