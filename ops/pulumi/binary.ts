// Which pulumi CLI the tools run: always the version pinned by the `pulumi` npm devDependency,
// never whatever `pulumi` is first on PATH (two CLI versions writing one state). The binary is
// run directly from the launcher's cache, so signals reach the real CLI and the tools wait for
// the CLI itself, not for a launcher that exits at once (node_modules/pulumi/run.js has no signal
// handler: SIGINT/SIGTERM end it while the CLI it spawned keeps updating).
//
// Mirrors node_modules/pulumi (npm `pulumi` 3.265.0): lib/cache.js cacheDir() =
// ($PULUMI_HOME or ~/.pulumi)/versions/<version>; lib/resolve.js returns <cacheDir>/bin/pulumi when
// it is an executable non-empty file, else downloads it with get.pulumi.com/install.sh.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { OpsError } from "../tool/error";
import { tail } from "../tool/runCommand";

export function launcherDir(projectDir: string): string {
  return path.join(projectDir, "node_modules", "pulumi");
}

/** The CLI version the project pins (the `pulumi` npm package's version). */
export function pinnedPulumiVersion(projectDir: string): string {
  const pkg = path.join(launcherDir(projectDir), "package.json");
  if (!fs.existsSync(pkg)) {
    throw new OpsError("the pinned pulumi launcher (node_modules/pulumi) is not installed", "run `npm ci` in the project directory");
  }
  return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** Where the launcher caches the CLI of `version` (same path as the Automation API). */
export function cachedPulumiBinary(env: NodeJS.ProcessEnv, version: string): string {
  const home = env.PULUMI_HOME || path.join(env.HOME || os.homedir(), ".pulumi");
  return path.join(home, "versions", version, "bin", process.platform === "win32" ? "pulumi.exe" : "pulumi");
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).size > 0;
  } catch {
    return false;
  }
}

/**
 * The pinned CLI binary; when it is not cached yet the launcher downloads it first (its own
 * resolve(), run in a child with the tools' environment). A failed download is refused with what
 * to do.
 */
export function resolvePinnedPulumi(env: NodeJS.ProcessEnv, projectDir: string): string {
  const version = pinnedPulumiVersion(projectDir);
  const bin = cachedPulumiBinary(env, version);
  if (isExecutable(bin)) return bin;
  const script =
    `require(${JSON.stringify(path.join(launcherDir(projectDir), "lib", "resolve.js"))}).resolve({ version: ${JSON.stringify(version)} })` +
    `.then((b) => process.stdout.write(b), (e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); })`;
  const res = spawnSync(process.execPath, ["-e", script], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (res.status === 0 && isExecutable(bin)) return bin;
  throw new OpsError(
    `the pinned pulumi launcher could not install pulumi v${version} into ${path.dirname(path.dirname(bin))}:\n    ${tail(res.stderr || res.stdout || String(res.error ?? "")) || "(no output)"}`,
    `check that this machine reaches https://get.pulumi.com, then re-run; offline, copy a pulumi v${version} install there (README, Prerequisites)`,
  );
}
