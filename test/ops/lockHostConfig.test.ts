// Where the operator lock goes (ops/hemma/lock.ts lockHostConfig): dockerHost and sshOpts read from
// Pulumi.<stack>.yaml with the program's rules, including the stack's own allowUnsafeSshOpts opt-in
// (the schema's sshOpts refinement sees that flag only in a whole-config parse).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lockHostConfig } from "../../ops/hemma/lock";

function project(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lock-host-"));
  fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), yaml);
  return dir;
}

describe("lockHostConfig", () => {
  it("defaults when the stack file names nothing", () => {
    expect(lockHostConfig(project("config: {}\n"), "s")).toEqual({
      dockerHost: "ssh://hemma",
      sshOpts: ["-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=15"],
    });
  });

  it("refuses an unsafe ssh option unless the stack opts in, as the program does", () => {
    const opts = '  sir-convert-a-lot:sshOpts: ["-o", "ProxyCommand=nc %h %p"]\n';
    expect(() => lockHostConfig(project(`config:\n${opts}`), "s")).toThrow(/sshOpts is invalid: .*allowUnsafeSshOpts/);
    expect(lockHostConfig(project(`config:\n${opts}  sir-convert-a-lot:allowUnsafeSshOpts: true\n`), "s").sshOpts).toEqual(["-o", "ProxyCommand=nc %h %p"]);
  });
});
