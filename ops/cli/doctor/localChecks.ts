// The doctor's checks on this machine: an ssh client, the pinned pulumi CLI installed (never
// downloaded here), the stack passphrase available, and the service checkout where config says.
import * as fs from "node:fs";
import * as path from "node:path";
import type { DoctorItem } from "../../plan/doctorChecks";
import { cachedPulumiBinary, pinnedPulumiVersion } from "../../pulumi/binary";
import { requirePassphrase } from "../../pulumi/cli";
import { type OpsConfig, sourceDir } from "../../pulumi/stackConfig";
import type { OpsContext } from "../../tool/context";
import type { OpsError } from "../../tool/error";
import { which } from "../../tool/runCommand";

export function sshClientItem(env: NodeJS.ProcessEnv): DoctorItem {
  const ssh = which("ssh", env);
  return ssh
    ? { name: "ssh client", ok: true, detail: ssh }
    : { name: "ssh client", ok: false, detail: "ssh is not on PATH", fix: "install an OpenSSH client" };
}

/** The pinned CLI is in the launcher's cache; its path, or undefined (with the failing item). */
export function pulumiItem(ctx: Pick<OpsContext, "env" | "projectDir">): DoctorItem {
  const name = "pinned pulumi CLI";
  let version: string;
  try {
    version = pinnedPulumiVersion(ctx.projectDir);
  } catch (err) {
    return { name, ok: false, detail: (err as OpsError).message, fix: (err as OpsError).hint };
  }
  const bin = cachedPulumiBinary(ctx.env, version);
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return { name, ok: true, detail: `v${version} at ${bin}` };
  } catch {
    return {
      name,
      ok: false,
      detail: `pulumi v${version} is not installed at ${bin}`,
      fix: "run `npm run pulumi -- version` once (the pinned launcher downloads it from get.pulumi.com)",
    };
  }
}

export function passphraseItem(ctx: Pick<OpsContext, "env" | "projectDir" | "stack">): DoctorItem {
  const name = "stack passphrase";
  try {
    requirePassphrase(ctx);
  } catch (err) {
    return { name, ok: false, detail: (err as OpsError).message, fix: (err as OpsError).hint };
  }
  const file = ctx.env.PULUMI_CONFIG_PASSPHRASE ? undefined : ctx.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file !== undefined) {
    try {
      if (fs.readFileSync(file, "utf8").trim() === "")
        return { name, ok: false, detail: `PULUMI_CONFIG_PASSPHRASE_FILE (${file}) is empty`, fix: "put the stack's passphrase in that file" };
    } catch (err) {
      return {
        name,
        ok: false,
        detail: `PULUMI_CONFIG_PASSPHRASE_FILE (${file}) cannot be read: ${(err as Error).message}`,
        fix: "point PULUMI_CONFIG_PASSPHRASE_FILE at the file holding the passphrase",
      };
    }
    return { name, ok: true, detail: `from PULUMI_CONFIG_PASSPHRASE_FILE (${file})` };
  }
  return { name, ok: true, detail: ctx.env.PULUMI_CONFIG_PASSPHRASE ? "from PULUMI_CONFIG_PASSPHRASE" : "not needed (another secrets provider)" };
}

export function checkoutItem(cfg: OpsConfig, projectDir: string): DoctorItem {
  const name = "service checkout";
  const dir = sourceDir(cfg, projectDir);
  const fix = `clone the service there (\`git clone <service repo> ${dir}\`) or set source.path to where it is`;
  if (!cfg.image.build) return { name, ok: true, detail: `not needed: image.build is false (runs the image already on Hemma); config says ${dir}` };
  if (!fs.existsSync(dir)) return { name, ok: false, detail: `${dir} (config source.path ${cfg.source.path}) does not exist`, fix };
  if (!fs.existsSync(path.join(dir, ".git"))) return { name, ok: false, detail: `${dir} is not a git checkout`, fix };
  const dockerfile = path.join(dir, cfg.source.dockerfile);
  if (!fs.existsSync(dockerfile)) return { name, ok: false, detail: `${dockerfile} does not exist`, fix: "check source.dockerfile, or update the checkout" };
  return { name, ok: true, detail: `${dir} (${cfg.source.dockerfile} present)` };
}
