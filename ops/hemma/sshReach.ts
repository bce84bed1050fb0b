// How the doctor reaches Hemma: the doctor script over ssh with BatchMode (no password or
// passphrase prompt) and StrictHostKeyChecking=yes (an unknown host key fails instead of being
// accepted silently), and what an ssh failure means, with its fix.

import { sshCommandLine } from "../../lib/commands/ssh";
import type { DoctorItem } from "../plan/doctorChecks";
import { sshScriptArgv } from "./remoteShell";
import type { SshTarget } from "./ssh";

export const STRICT_HOST_KEY = ["-o", "StrictHostKeyChecking=yes"];

export function doctorSshArgv(target: SshTarget, script: string): string[] {
  return sshScriptArgv(target, script, STRICT_HOST_KEY);
}

export function sshFailureItem(target: SshTarget, stderr: string): DoctorItem {
  const name = "ssh reaches Hemma without a prompt, host key known";
  const byHand = sshCommandLine(target, ["true"]);
  const detail = stderr.trim().split("\n").slice(-3).join(" / ") || "ssh exited 255";
  if (/host key verification failed|no .* host key is known|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr)) {
    return {
      name,
      ok: false,
      detail,
      fix: `connect once by hand (\`${byHand}\`), compare the fingerprint with Hemma's (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` on Hemma) and accept it`,
    };
  }
  if (/permission denied|too many authentication failures/i.test(stderr)) {
    return {
      name,
      ok: false,
      detail,
      fix: `load your key into the agent (\`ssh-add\`) and make sure Hemma's ~/.ssh/authorized_keys holds its public key; \`${byHand}\` must work without a prompt`,
    };
  }
  if (/could not resolve hostname/i.test(stderr)) {
    return {
      name,
      ok: false,
      detail,
      fix: `add a Host ${target.destination} entry to ~/.ssh/config (HostName, User), or set dockerHost to ssh://user@address`,
    };
  }
  return { name, ok: false, detail, fix: `check the network path to Hemma and its sshd (\`${sshCommandLine(target, ["true"]).replace(/^ssh /, "ssh -v ")}\`)` };
}
