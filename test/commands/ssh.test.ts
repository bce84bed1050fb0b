// The one ssh command-line builder (lib/commands/ssh.ts), by string equality: options first, the
// port, exactly one `--` right before the destination, then the remote command words.
import { localForward, sshArgs, sshCommandLine, sshOptionArgs } from "../../lib/commands/ssh";
import { parseSshUrl } from "../../lib/sshTarget";
import { dockerExecFor } from "../../ops/hemma/docker";
import { sshTargetFromDockerHost } from "../../ops/hemma/ssh";

const join = (argv: string[]) => argv.join(" ");

describe("sshArgs", () => {
  it("a bare host is `-- host`", () => {
    expect(join(sshArgs(parseSshUrl("ssh://hemma")))).toBe("-- hemma");
  });

  it("target options, then extra options, then the port, then `-- destination`", () => {
    const target = sshTargetFromDockerHost("ssh://ops@hemma.lan:2222", ["-o", "ConnectTimeout=15"]);
    expect(join(sshArgs(target, ["-o", "BatchMode=yes"]))).toBe("-o ConnectTimeout=15 -o BatchMode=yes -p 2222 -- ops@hemma.lan");
  });

  it("a remote command follows the destination directly, with no second `--`", () => {
    const argv = sshArgs(parseSshUrl("ssh://u@h:22"), sshOptionArgs(["IdentityFile=/k"]), ["docker", "--version"]);
    expect(join(argv)).toBe("-o IdentityFile=/k -p 22 -- u@h docker --version");
    expect(argv.filter((a) => a === "--")).toHaveLength(1);
  });

  it("a command word that looks like an option stays after the destination", () => {
    expect(join(sshArgs(parseSshUrl("ssh://hemma"), [], ["-oProxyCommand=x"]))).toBe("-- hemma -oProxyCommand=x");
  });
});

describe("sshOptionArgs and localForward", () => {
  it("turns Key=Value values into -o pairs", () => {
    expect(join(sshOptionArgs(["ServerAliveInterval=30", "ConnectTimeout=15"]))).toBe("-o ServerAliveInterval=30 -o ConnectTimeout=15");
    expect(sshOptionArgs([])).toEqual([]);
  });

  it("brackets an IPv6 remote host", () => {
    expect(localForward(28085, "127.0.0.1", 28085)).toBe("28085:127.0.0.1:28085");
    expect(localForward(1, "::1", 2)).toBe("1:[::1]:2");
  });
});

describe("sshCommandLine: what a hint tells the operator to paste", () => {
  it("keeps the port and the options, quoted for a shell", () => {
    const target = sshTargetFromDockerHost("ssh://ops@hemma.lan:2222", ["-o", "IdentityFile=/home/ops/.ssh/hemma key"]);
    expect(sshCommandLine(target, ["docker", "ps"])).toBe("ssh -o 'IdentityFile=/home/ops/.ssh/hemma key' -p 2222 -- ops@hemma.lan docker ps");
  });

  it("docker hints on an ssh:// host go through it; a tcp:// host is docker -H", () => {
    const env = { PATH: "" };
    expect(dockerExecFor("ssh://ops@hemma.lan:2222", [], { env }).commandLine(["image", "rm", "x:1"])).toBe("ssh -p 2222 -- ops@hemma.lan docker image rm x:1");
    expect(dockerExecFor("tcp://10.0.0.2:2376", [], { env }).commandLine(["image", "ls"])).toBe("docker -H tcp://10.0.0.2:2376 image ls");
  });
});
