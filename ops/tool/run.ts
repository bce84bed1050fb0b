// One object per tool run, like Kamal's commander: the tool's context, the pinned pulumi CLI for
// the run's stack, the stack config read once and parsed once with the program's schema, and
// Hemma's access derived from that config (docker over ssh, or the ssh target itself). Every
// operator command starts from one of these instead of wiring the three itself.
import type { SshTarget } from "../../lib/commands/ssh";
import { type DockerExec, dockerExecFor } from "../hemma/docker";
import { sshTargetFromDockerHost } from "../hemma/ssh";
import { PulumiCli } from "../pulumi/cli";
import type { ConfigJson } from "../pulumi/schemas";
import { type OpsConfig, parseOpsConfig } from "../pulumi/stackConfig";
import { type OpsContext, PROJECT_NAMESPACE } from "./context";

export class ToolRun {
  readonly pulumi: PulumiCli;
  private read?: Promise<{ json: ConfigJson; config: OpsConfig }>;

  constructor(readonly ctx: OpsContext) {
    this.pulumi = new PulumiCli(ctx);
  }

  private load(): Promise<{ json: ConfigJson; config: OpsConfig }> {
    this.read ??= this.pulumi.config().then((json) => ({ json, config: parseOpsConfig(json, PROJECT_NAMESPACE) }));
    return this.read;
  }

  /** `pulumi config --json` as this run read it (secrets without values). */
  async configJson(): Promise<ConfigJson> {
    return (await this.load()).json;
  }

  /**
   * The stack config as the program parses it (lib/config/schema.ts), without the API key: as read
   * when the run first asked. A command that writes config afterwards (deploy's revision, a
   * rollback's restore) reads `pulumi.config()` again for the new values.
   */
  async config(): Promise<OpsConfig> {
    return (await this.load()).config;
  }

  /** docker on Hemma, as config `dockerHost` and `sshOpts` reach it. */
  async docker(): Promise<DockerExec> {
    const cfg = await this.config();
    return dockerExecFor(cfg.dockerHost, cfg.sshOpts, this.ctx);
  }

  /** The ssh target config `dockerHost` names (refused when it is not ssh://). */
  async hemma(): Promise<SshTarget> {
    const cfg = await this.config();
    return sshTargetFromDockerHost(cfg.dockerHost, cfg.sshOpts);
  }
}
