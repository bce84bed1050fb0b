// Jest global teardown of the box project: `box.sh down` (stops the sshd and dockerd it started, by
// pid; images and the debootstrap cache stay). SIR_CONVERT_A_LOT_BOX_KEEP=1 leaves the box up.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { BOX_SCRIPT, BOX_UNAVAILABLE_FILE } from "./lib/box";

export default async function globalTeardown(): Promise<void> {
  if (existsSync(BOX_UNAVAILABLE_FILE) || process.env.SIR_CONVERT_A_LOT_BOX_KEEP === "1") return;
  spawnSync("bash", [BOX_SCRIPT, "down"], { stdio: ["ignore", "inherit", "inherit"], timeout: 120_000 });
}
