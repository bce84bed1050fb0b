// The project directory (the one holding Pulumi.yaml), found upwards from a module's own folder,
// so code finds the project the same way whether it runs from TypeScript sources (ts-node, jest)
// or from the compiled JavaScript in dist/.
import * as fs from "node:fs";
import * as path from "node:path";

export function projectRoot(fromDir: string): string {
  for (let dir = fromDir, i = 0; i < 32; i++) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`no Pulumi.yaml above ${fromDir}: not inside the project`);
}
