// Issue 11: following the README's `pulumi config set --secret apiKey` must not break the offline
// gate or the tests. The file then holds `apiKey: {secure: v1:...}`, which the gate cannot decrypt
// (no passphrase); gate/mockRun.ts hands the program a stand-in derived from the ciphertext, as a
// secret: to the pack it is what the engine would send, a secret of content the gate does not judge
// (the real program checks the decrypted key at every preview and up, lib/config/load.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readStackConfig } from "../../gate/mockRun";
import { runStack } from "../harness/stack";

test("an encrypted apiKey becomes a secret stand-in the program accepts", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-config-"));
  try {
    fs.writeFileSync(
      path.join(dir, "Pulumi.hemma.yaml"),
      [
        "config:",
        "  sir-convert-a-lot:bindAddress: 127.0.0.1",
        "  sir-convert-a-lot:apiKey:",
        "    secure: v1:Zm9vYmFyYmF6:cGxhaW50ZXh0LWlzLW5vdC1oZXJl",
        "",
      ].join("\n"),
    );
    const { config, secretKeys } = readStackConfig(dir, "hemma");
    expect(secretKeys).toEqual(["sir-convert-a-lot:apiKey"]);
    const standIn = config["sir-convert-a-lot:apiKey"];
    expect(standIn).not.toContain("v1:");
    expect(standIn.length).toBeGreaterThanOrEqual(24);
    const run = await runStack({ preview: true, previewCase: "first-deploy", set: { apiKey: standIn }, secretKeys: ["apiKey"] });
    expect(run.ofType("random:index/randomPassword:RandomPassword")).toHaveLength(0);
    const envs = run.named("docker:index/container:Container", "prod").inputs.envs as unknown[];
    expect(envs.filter((e) => run.isSecret(e))).toHaveLength(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
