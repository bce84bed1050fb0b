// The verifier CLI's flags for one lane, built in one place for everything that runs it: the
// stack's post-deploy command resources and `npm run verify` over the deployed stack. The API key
// is never among them; it travels in the API_KEY_ENV environment variable.
import * as path from "node:path";
import { API_KEY_ENV } from "../lib/serviceContract";
import { isSshUrl, sshOptionValues } from "../lib/sshTarget";

export interface VerifierInvocation {
  /** The lane's URL as seen from the docker host. */
  serviceUrl: string;
  profile: string;
  lane?: string;
  expectedRevision: string;
  container: string;
  dataDir: string;
  torchVersion: string;
  evidenceDir: string;
  /** Config `verification.evidenceRoot`: holds the GPU lock every verifier run shares. */
  evidenceRoot: string;
  /** The stack's docker host: `ssh://…` is tunnelled to; anything else is handed to `docker -H`. */
  dockerHost: string;
  /** Config `sshOpts` (`-o Key=Value` forms). */
  sshOpts: readonly string[];
  checks?: readonly string[];
  timeoutSeconds?: number;
}

export function verifierCliArgs(inv: VerifierInvocation): string[] {
  const args = [
    "--service-url",
    inv.serviceUrl,
    "--profile",
    inv.profile,
    ...(inv.lane ? ["--lane", inv.lane] : []),
    "--expected-revision",
    inv.expectedRevision,
    "--api-key-env",
    API_KEY_ENV,
    ...(inv.checks ? ["--checks", inv.checks.join(",")] : []),
    "--container",
    inv.container,
    "--data-dir",
    inv.dataDir,
    "--torch-version",
    inv.torchVersion,
    "--evidence-dir",
    inv.evidenceDir,
    ...(inv.timeoutSeconds !== undefined ? ["--timeout-seconds", String(inv.timeoutSeconds)] : []),
    // Lanes verify in parallel; their GPU jobs take turns so GPU-use samples belong to one job.
    "--gpu-lock-file",
    path.posix.join(inv.evidenceRoot, "gpu.lock"),
  ];
  if (isSshUrl(inv.dockerHost)) {
    args.push("--via", inv.dockerHost);
    for (const opt of sshOptionValues(inv.sshOpts)) args.push("--ssh-opt", opt);
  } else {
    // Pulumi runs on the docker host itself (rocm-smi runs here); docker exec goes to the stack's daemon.
    args.push("--docker-command", `docker -H ${inv.dockerHost}`);
  }
  return args;
}
