// How the tools reach Hemma and pulumi: ssh targets from dockerHost, remote shell quoting, the
// local `docker -H` mode for non-ssh hosts, config defaults, and which pulumi executable runs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sshArgs } from "../../lib/commands/ssh";
import { dockerExecFor, inspectImage } from "../../ops/hemma/docker";
import { remoteCommand, shellQuote, sshTargetFromDockerHost } from "../../ops/hemma/ssh";
import { parseOpsConfig } from "../../ops/pulumi/stackConfig";
import { NS, SHA, stackConfig } from "./helpers";

describe("ssh target", () => {
  it("parses user, host and port from dockerHost and keeps sshOpts first", () => {
    const t = sshTargetFromDockerHost("ssh://ops@hemma.lan:2222", ["-o", "ConnectTimeout=15"]);
    expect(sshArgs(t, ["-o", "BatchMode=yes"])).toEqual(["-o", "ConnectTimeout=15", "-o", "BatchMode=yes", "-p", "2222", "--", "ops@hemma.lan"]);
    expect(sshArgs(sshTargetFromDockerHost("ssh://hemma", []))).toEqual(["--", "hemma"]);
  });

  it("refuses a non-ssh dockerHost", () => {
    expect(() => sshTargetFromDockerHost("tcp://hemma:2376", [])).toThrow(/not an ssh:\/\/ URL/);
  });

  it("quotes remote words so docker templates survive the remote shell", () => {
    expect(shellQuote("{{json .}}")).toBe("'{{json .}}'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(remoteCommand(["docker", "image", "ls", "--format", "{{json .}}"])).toBe("docker image ls --format '{{json .}}'");
  });
});

describe("docker on a non-ssh host", () => {
  it("runs the local docker CLI with -H", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ops-docker-"));
    const log = path.join(dir, "argv");
    fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\necho "$@" > ${log}\necho 'sha256:abc {"org.opencontainers.image.revision":"${SHA.A}"}'\n`, {
      mode: 0o755,
    });
    try {
      const d = dockerExecFor("tcp://hemma:2376", [], { env: { PATH: `${dir}${path.delimiter}${process.env.PATH}` } });
      expect(await inspectImage(d, `sir-convert-a-lot-runtime:${SHA.A}`)).toEqual({ id: "sha256:abc", revisionLabel: SHA.A });
      expect(fs.readFileSync(log, "utf8").trim()).toBe(
        `-H tcp://hemma:2376 image inspect --format {{.Id}} {{json .Config.Labels}} sir-convert-a-lot-runtime:${SHA.A}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stack config for the tools", () => {
  it("applies the program's defaults and decodes objects, lists and secrets", () => {
    const cfg = parseOpsConfig(stackConfig(SHA.C) as never, NS);
    expect(cfg).toMatchObject({
      revision: SHA.C,
      dockerHost: "ssh://hemma",
      image: { name: "sir-convert-a-lot-runtime", build: true, keepRevisions: 5 },
      source: { path: "../sir-convert-a-lot" },
    });
    expect(cfg.sshOpts).toEqual(["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=15"]);
  });

  it("says which key is wrong", () => {
    expect(() => parseOpsConfig({ [`${NS}:revision`]: { value: "main", secret: false } }, NS)).toThrow(
      /sir-convert-a-lot:revision: must be a full 40-character lowercase hex commit SHA/,
    );
  });
});
