// `npm run doctor`: every item PASS or FAIL with its fix, against the fakes: local (pinned pulumi
// in the sandbox's launcher cache, passphrase, checkout) and Hemma through the fake ssh in shell
// mode (fake docker version/ps, find/stat of device nodes, rocm-smi, df, ss).
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../ops/cli/doctor";
import { deviceWords, doctorScript } from "../../ops/hemma/doctorProbe";
import { doctorSshArgv } from "../../ops/hemma/sshReach";
import { apiAtLeast, gpuGroupsFix } from "../../ops/plan/doctorChecks";
import { captureContext, makeGitRepo, SHA, sourceConfig, stackConfig } from "./helpers";
import { healthyContainer, makeSurfaceSandbox, NS, type SurfaceSandbox } from "./surfaceSandbox";

describe("doctor command lines (pure)", () => {
  it("queries device nodes with one find, and ssh with batch mode and strict host key checking", () => {
    expect(deviceWords(["/dev/kfd", "/dev/dri"]).join(" ")).toBe("find /dev/kfd /dev/dri -maxdepth 1 -type c -exec stat -c %n %g %G {} +");
    expect(doctorScript(["/dev/kfd"])).toContain(`find /dev/kfd -maxdepth 1 -type c -exec stat -c '%n %g %G' '{}' + 2>&1`);
    expect(doctorScript(["/dev/kfd"])).toContain(`docker ps --format '{{.Names}}\t{{.Ports}}' 2>&1`);
    expect(doctorSshArgv({ destination: "hemma", options: [], display: "ssh://hemma" }, "S")).toEqual([
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "--",
      "hemma",
      "S",
    ]);
  });

  it("compares API versions numerically and prints the exact gpu config to set", () => {
    expect(apiAtLeast("1.41", "1.44")).toBe(false);
    expect(apiAtLeast("1.47", "1.44")).toBe(true);
    expect(apiAtLeast("1.100", "1.44")).toBe(true);
    expect(gpuGroupsFix(["/dev/kfd", "/dev/dri"], ["44", "993"], "hemma")).toBe(
      `npm run pulumi -- config set gpu '{"devices":["/dev/kfd","/dev/dri"],"groups":["44","993"]}' --stack hemma`,
    );
  });
});

describe("npm run doctor", () => {
  let sb: SurfaceSandbox;
  let repo: { dir: string };
  afterEach(() => {
    sb?.cleanup();
    if (repo) fs.rmSync(repo.dir, { recursive: true, force: true });
  });

  const devices = {
    "/dev/kfd": { gid: 993, group: "render" },
    "/dev/dri/card0": { gid: 44, group: "video" },
    "/dev/dri/renderD128": { gid: 993, group: "render" },
  };
  const gpu = (groups: string[]) => ({ [`${NS}:gpu`]: { value: JSON.stringify({ groups }), objectValue: { groups }, secret: false } });

  function setup(hemma: Record<string, unknown>, groups = ["44", "993"]): SurfaceSandbox {
    repo = makeGitRepo();
    fs.writeFileSync(path.join(repo.dir, "Dockerfile"), "FROM scratch\n");
    sb = makeSurfaceSandbox(
      { containers: { sir_convert_a_lot_prod: healthyContainer("prod") }, hostDevices: devices, listening: [28085, 22], ...hemma },
      { config: { ...stackConfig(SHA.C), ...sourceConfig({ path: repo.dir }), ...gpu(groups) } },
    );
    return sb;
  }

  const line = (text: string, name: string) => text.split("\n").find((l) => l.includes(` ${name}`)) ?? `(no ${name} line)`;

  it("passes every item on a ready host, in one ssh call", async () => {
    setup({});
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(0);
    const text = cap.text();
    expect(text).not.toMatch(/^FAIL/m);
    expect(line(text, "docker engine version")).toMatch(/^PASS .*dockerd 27\.5\.1, API 1\.47/);
    expect(line(text, "GPU device nodes")).toContain("/dev/kfd gid 993 (render), /dev/dri/card0 gid 44 (video), /dev/dri/renderD128 gid 993 (render)");
    expect(line(text, "prod host port 28085")).toBe("PASS prod host port 28085: held by our container sir_convert_a_lot_prod");
    expect(line(text, "eval host port 28086")).toBe("PASS eval host port 28086: free");
    expect(line(text, "rocm-smi")).toMatch(/^PASS/);
    expect(line(text, "service checkout")).toMatch(/^PASS/);
    expect(line(text, "pinned pulumi CLI")).toMatch(/^PASS pinned pulumi CLI: v3\.265\.0/);
    expect(sb.sshCalls()).toHaveLength(1);
  });

  it("fails an old engine, names-only gpu.groups, missing GPU, low disk and a foreign port holder, each with its fix", async () => {
    setup(
      {
        version: { Version: "20.10.24", ApiVersion: "1.41" },
        hostDevices: { "/dev/dri/card0": { gid: 44, group: "video" }, "/dev/dri/renderD128": { gid: 992, group: "render" } },
        diskFreeKiB: 5 * 1024 * 1024,
        listening: [28086],
      },
      ["video", "render"],
    );
    sb.env.FAKE_ROCM_SMI_MODE = "no-gpu";
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    const text = cap.text();
    expect(text).toMatch(
      /FAIL docker engine version: dockerd 20\.10\.24 speaks API 1\.41; healthcheck start interval .* needs API 1\.44 \(Docker Engine 25\.0\)\n {5}fix: upgrade Docker Engine on Hemma to 25\.0 or newer/,
    );
    expect(text).toMatch(/FAIL GPU device nodes: \/dev\/kfd missing on Hemma \(find: '\/dev\/kfd': No such file or directory\)/);
    expect(text).toMatch(
      /FAIL gpu.groups grants the device nodes: the device nodes belong to GID\(s\) 44 \(video\), 992 \(render\) on Hemma, not in gpu.groups \["video","render"\]; group names \(video, render\) resolve inside the image/,
    );
    expect(text).toContain(`fix: npm run pulumi -- config set gpu '{"devices":["/dev/kfd","/dev/dri"],"groups":["44","992"]}' --stack hemma`);
    expect(text).toMatch(/FAIL rocm-smi lists a GPU: rocm-smi lists no GPU/);
    expect(text).toMatch(
      /FAIL free disk for an image build: 5\.0 GiB free on \/; an image build needs about 40 GiB\n {5}fix: free space on Hemma: `npm run prune`/,
    );
    expect(text).toMatch(/FAIL eval host port 28086: a process on Hemma listens on it .*\n {5}fix: find it with `sudo ss -tlnp 'sport = :28086'`/);
    expect(text).toMatch(/6 of \d+ checks failed/);
  });

  it("says how to fix an unknown host key, a refused key, a missing passphrase and checkout", async () => {
    setup({});
    fs.writeFileSync(sb.env.FAKE_HEMMA_STATE!, JSON.stringify({ hostKeyUnknown: true }));
    delete sb.env.PULUMI_CONFIG_PASSPHRASE;
    fs.rmSync(path.join(repo.dir, "Dockerfile"));
    const cap = captureContext(sb.env);
    expect(await main(["--json"], cap.ctx)).toBe(1);
    const report = JSON.parse(cap.out.join("\n"));
    const byName = (n: string) => report.items.find((i: { name: string }) => i.name === n);
    expect(byName("ssh reaches Hemma without a prompt, host key known")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/Host key verification failed/),
      fix: expect.stringMatching(/^connect once by hand \(`ssh (-o \S+ )*-- hemma true`\), compare the fingerprint/),
    });
    expect(byName("stack passphrase")).toMatchObject({ ok: false, fix: expect.stringMatching(/PULUMI_CONFIG_PASSPHRASE_FILE/) });
    expect(byName("service checkout")).toMatchObject({ ok: false, detail: expect.stringMatching(/Dockerfile does not exist/) });

    fs.writeFileSync(sb.env.FAKE_HEMMA_STATE!, JSON.stringify({ keyRefused: true }));
    const cap2 = captureContext(sb.env);
    expect(await main([], cap2.ctx)).toBe(1);
    expect(cap2.text()).toMatch(/FAIL ssh reaches Hemma .*Permission denied \(publickey\)\.\n {5}fix: load your key into the agent \(`ssh-add`\)/);
  });

  it("reports docker permission denied with the docker-group fix", async () => {
    setup({ permissionDenied: true });
    const cap = captureContext(sb.env);
    expect(await main([], cap.ctx)).toBe(1);
    expect(cap.text()).toMatch(/FAIL docker usable on Hemma: permission denied .*\n {5}fix: add the ssh user to the docker group/);
  });
});
