// Jest global setup of the box project: `box.sh up`, then the shared runtime image (built once,
// cached by its context hash). Where the box cannot be had (not root, no apt) it records why: the box
// suites then fail with that message, or are left out with SIR_CONVERT_A_LOT_SKIP_BOX_TESTS=1.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { BOX_SCRIPT, BOX_STATE, BOX_UNAVAILABLE_FILE, boxOrReason, SKIP_BOX_ENV } from "./lib/box";
import { ensureRuntimeImage } from "./lib/runtimeImage";

export default async function globalSetup(): Promise<void> {
  mkdirSync(BOX_STATE, { recursive: true });
  rmSync(BOX_UNAVAILABLE_FILE, { force: true });
  if (process.env[SKIP_BOX_ENV] === "1") {
    writeFileSync(BOX_UNAVAILABLE_FILE, `left out on purpose (${SKIP_BOX_ENV}=1)`);
    return;
  }
  const up = spawnSync("bash", [BOX_SCRIPT, "up"], { encoding: "utf8", stdio: ["ignore", "inherit", "pipe"], timeout: 600_000 });
  process.stderr.write(up.stderr ?? "");
  if (up.status === 3) {
    writeFileSync(BOX_UNAVAILABLE_FILE, (up.stderr ?? "").replace(/^box: /gm, "").trim());
    return;
  }
  if (up.status !== 0) throw new Error(`bash ${BOX_SCRIPT} up failed (exit ${up.status ?? up.signal}); see its output above`);
  const box = boxOrReason();
  if (typeof box === "string") throw new Error(box);
  const image = await ensureRuntimeImage(box);
  process.stderr.write(`box: runtime image ${image.tag} (${image.buildMs > 0 ? `built in ${(image.buildMs / 1000).toFixed(1)} s` : "reused"})\n`);
}
