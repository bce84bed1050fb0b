// `npm run state:backup` / `npm run state:restore`: the stack state lives in the git-ignored file
// backend of Pulumi.yaml (backend.url file://./.pulumi-state), in one checkout only. Backup writes
// it as a .tar.gz outside the checkout (so `git clean -fdx` cannot take it); restore unpacks one
// into the checkout, moving any state already there aside (never deleting it) and refusing an
// archive with members outside the state folder. Secrets inside the state stay encrypted with the
// stack's passphrase; these tools never read, print or write the passphrase (it is handed over
// separately: README, Taking over). Both refuse while a pulumi update holds the stack.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeLock, stackLocks } from "../pulumi/backendLock";
import { fileBackendDir, projectBackendUrl } from "../pulumi/env";
import { type OpsContext, PROJECT_NAMESPACE, processContext } from "../tool/context";
import { OpsError } from "../tool/error";
import { runCommand, tail, which } from "../tool/runCommand";
import { parseToolArgs, runAsScript, runTool, STACK_FLAG, type ToolSpec, usageError } from "../tool/shell";

export const BACKUP_SPEC: ToolSpec = {
  name: "npm run state:backup --",
  summary: "Write the stack state (.pulumi-state/) to a .tar.gz outside the checkout; the passphrase is never in it.",
  flags: [{ flags: "--out <file>", description: "the archive to write (default ~/sir-convert-a-lot-state/state-<UTC time>.tar.gz)" }, STACK_FLAG],
};

export const RESTORE_SPEC: ToolSpec = {
  name: "npm run state:restore --",
  summary: "Unpack a state:backup archive into this checkout's .pulumi-state/ (state already there is moved aside, never deleted).",
  flags: [{ flags: "--from <file>", description: "the archive written by npm run state:backup (required)" }, STACK_FLAG],
};

function stateDir(ctx: OpsContext): string {
  const url = projectBackendUrl(ctx.projectDir);
  const dir = fileBackendDir(url);
  if (!dir) {
    throw new OpsError(
      `the state backend is ${url ?? "not named in Pulumi.yaml"}, not a local file:// folder, so there is no folder to archive`,
      "back it up with that backend's own means, e.g. `npm run pulumi -- stack export --file hemma.checkpoint.json` (README, Taking over)",
    );
  }
  return dir;
}

function refuseWhileUpdating(ctx: OpsContext): void {
  const locks = stackLocks(projectBackendUrl(ctx.projectDir), PROJECT_NAMESPACE, ctx.stack);
  if (locks.length > 0) {
    throw new OpsError(
      `stack ${ctx.stack} is locked by a pulumi update (${locks.map(describeLock).join(", ")}): the state is changing`,
      "wait for that update to end and run this again (docs/runbook.md, 12.1 A deploy was interrupted)",
    );
  }
}

function tar(ctx: OpsContext): string {
  const bin = which("tar", ctx.env);
  if (!bin) throw new OpsError("tar was not found on PATH", "install tar (GNU tar or bsdtar)");
  return bin;
}

const utcStamp = () => new Date().toISOString().replace(/[:.]/g, "-");

export async function backup(opts: { out?: string }, ctx: OpsContext): Promise<number> {
  const dir = stateDir(ctx);
  if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0)
    throw new OpsError(`there is no state to back up: ${dir} is missing or empty`, "run this in the checkout that deployed (README, Taking over)");
  refuseWhileUpdating(ctx);
  const out = path.resolve(opts.out ?? path.join(ctx.env.HOME || os.homedir(), "sir-convert-a-lot-state", `state-${utcStamp()}.tar.gz`));
  if (out.startsWith(`${ctx.projectDir}${path.sep}`)) {
    ctx.err(`warning: ${out} is inside the checkout: \`git clean -fdx\` can delete it; keep a copy elsewhere`);
  }
  if (fs.existsSync(out)) throw new OpsError(`${out} already exists`, "choose another --out; a backup never overwrites one");
  fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o700 });
  const res = await runCommand(tar(ctx), ["-czf", out, "-C", path.dirname(dir), path.basename(dir)], { env: ctx.env });
  if (res.code !== 0) throw new OpsError(`tar could not write ${out}:\n    ${tail(res.stderr)}`, "check the folder is writable and has room");
  fs.chmodSync(out, 0o600);
  const sha = crypto.createHash("sha256").update(fs.readFileSync(out)).digest("hex");
  ctx.out(`Backed up ${dir} to ${out} (sha256 ${sha}).`);
  ctx.out(
    "The secrets in it are encrypted with the stack's passphrase, which is NOT in the archive: hand the passphrase over separately (a password manager entry, never the same message or folder as the archive).",
  );
  return 0;
}

/** Every member must lie inside the state folder: no absolute paths, no `..`, nothing beside it. */
function checkMembers(listing: string, folder: string): void {
  const bad = listing
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .filter((m) => {
      const norm = path.posix.normalize(m.replace(/^\.\//, ""));
      return path.posix.isAbsolute(m) || norm.split("/").includes("..") || (norm !== folder && !norm.startsWith(`${folder}/`));
    });
  if (bad.length > 0)
    throw new OpsError(
      `the archive holds members outside ${folder}/ (${bad.slice(0, 3).join(", ")}): it is not a state:backup archive`,
      "restore only an archive written by `npm run state:backup`",
    );
}

export async function restore(opts: { from: string }, ctx: OpsContext): Promise<number> {
  const dir = stateDir(ctx);
  const from = path.resolve(opts.from);
  if (!fs.existsSync(from)) throw new OpsError(`${from} does not exist`, "pass the archive written by `npm run state:backup` with --from");
  const bin = tar(ctx);
  const list = await runCommand(bin, ["-tzf", from], { env: ctx.env });
  if (list.code !== 0)
    throw new OpsError(
      `${from} is not a readable .tar.gz:\n    ${tail(list.stderr)}`,
      "check the file was copied completely (compare its sha256 with the one state:backup printed)",
    );
  checkMembers(list.stdout, path.basename(dir));
  refuseWhileUpdating(ctx);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    const aside = `${dir}.before-restore-${utcStamp()}`;
    fs.renameSync(dir, aside);
    ctx.out(`Moved the state that was here to ${aside} (delete it yourself once the restored state works).`);
  }
  const res = await runCommand(bin, ["-xzf", from, "-C", path.dirname(dir)], { env: ctx.env });
  if (res.code !== 0) throw new OpsError(`tar could not unpack ${from}:\n    ${tail(res.stderr)}`, "check the folder is writable");
  ctx.out(`Restored ${dir} from ${from}.`);
  ctx.out(
    `Next: set PULUMI_CONFIG_PASSPHRASE_FILE to the passphrase you were handed, then \`npm run preview\` (it must show no changes for a running deployment; README, Taking over).`,
  );
  return 0;
}

export async function backupMain(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const v = parseToolArgs(argv, BACKUP_SPEC) as { out?: string; stack?: string };
    return backup({ out: v.out }, { ...ctx, stack: v.stack ?? ctx.stack });
  });
}

export async function restoreMain(argv: string[], ctx: OpsContext = processContext()): Promise<number> {
  return runTool(ctx, async () => {
    const v = parseToolArgs(argv, RESTORE_SPEC) as { from?: string; stack?: string };
    if (!v.from) throw usageError("--from <file> is required", RESTORE_SPEC);
    return restore({ from: v.from }, { ...ctx, stack: v.stack ?? ctx.stack });
  });
}

runAsScript(module, (argv) => (argv[0] === "restore" ? restoreMain(argv.slice(1)) : argv[0] === "backup" ? backupMain(argv.slice(1)) : backupMain(argv)));
