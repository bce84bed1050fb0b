// launch.js: the npm scripts start the compiled tools from dist/; after a source change (a
// `git pull` without `npm ci`) it rebuilds once before running, and refuses to run old JavaScript
// when the rebuild fails. Runs a copy of launch.js in a throwaway project with one tool.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "./helpers";

function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "launch-test-"));
  fs.copyFileSync(path.join(REPO_ROOT, "launch.js"), path.join(dir, "launch.js"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: t\n");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ scripts: { hello: "node launch.js ops/hello", build: "node launch.js --build" } }));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), "{}");
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules", "esbuild"), path.join(dir, "node_modules", "esbuild"));
  fs.mkdirSync(path.join(dir, "ops"));
  return dir;
}

const tool = (word: string) => `const argv: string[] = process.argv.slice(2);\nconsole.log("${word}", argv.join(","), require.main === module);\n`;

describe("launch.js", () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(dir, "launch.js"), ...args], { cwd: dir, encoding: "utf8", timeout: 120000 });

  it("builds a missing dist/ once, runs the entry as the main module with its arguments, then starts without building", () => {
    dir = project();
    fs.writeFileSync(path.join(dir, "ops", "hello.ts"), tool("v1"));
    const first = run("ops/hello", "--json", "x");
    expect(first.stderr).toMatch(/note: dist\/ has not been built; building it now/);
    expect(first.stdout).toBe("v1 --json,x true\n");
    expect(first.status).toBe(0);
    const second = run("ops/hello");
    expect(second.stderr).toBe("");
    expect(second.stdout).toBe("v1  true\n");
  });

  it("rebuilds after the sources change (git pull without npm ci) and never runs the old JavaScript", () => {
    dir = project();
    fs.writeFileSync(path.join(dir, "ops", "hello.ts"), tool("v1"));
    expect(run("ops/hello").status).toBe(0);
    fs.writeFileSync(path.join(dir, "ops", "hello.ts"), tool("v2"));
    const changed = run("ops/hello");
    expect(changed.stderr).toMatch(/note: the sources changed since dist\/ was built \(a git pull without npm ci\?\); building it now/);
    expect(changed.stdout).toBe("v2  true\n");

    fs.writeFileSync(path.join(dir, "ops", "hello.ts"), `import { nothing } from "./missing";\nconsole.log(nothing);\n${tool("v3")}`);
    const broken = run("ops/hello");
    expect(broken.status).toBe(1);
    expect(broken.stdout).not.toMatch(/v2|v3/);
    expect(broken.stderr).toMatch(/Could not resolve "\.\/missing"/);
    expect(broken.stderr).toMatch(
      /error: building dist\/ from the TypeScript sources failed \(see above\); not running the old build\n {2}what to do: fix the errors/,
    );
    expect(fs.existsSync(path.join(dir, ".dist-build.lock"))).toBe(false);
  });

  it("a file touched without a change (checkout, stash) is hashed, not rebuilt", () => {
    dir = project();
    fs.writeFileSync(path.join(dir, "ops", "hello.ts"), tool("v1"));
    expect(run("ops/hello").status).toBe(0);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, "ops", "hello.ts"), later, later);
    const touched = run("ops/hello");
    expect(touched.stderr).toBe("");
    expect(touched.stdout).toBe("v1  true\n");
  });

  it("refuses an entry that is not a plain path inside dist/", () => {
    dir = project();
    const res = run("../etc/passwd");
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^error: launch.js needs an entry point such as ops\/cli\/status/);
  });
});

describe("npm scripts", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

  it("npm ci builds dist/ (prepare), and every tool starts through launch.js from a bundled source", () => {
    expect(pkg.scripts.prepare).toBe("npm run build");
    expect(pkg.scripts.build).toBe("node launch.js --build");
    const launched = Object.entries(pkg.scripts).filter(([, cmd]) => cmd.startsWith("node launch.js ") && !cmd.startsWith("node launch.js --"));
    expect(launched.map(([name]) => name).sort()).toEqual([
      "deploy",
      "doctor",
      "init",
      "logs",
      "preview",
      "prune",
      "pulumi",
      "rollback",
      "state:backup",
      "state:restore",
      "status",
      "tunnel",
      "verify",
    ]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { entryPoints } = require(path.join(REPO_ROOT, "launch.js")) as { entryPoints(): string[] };
    const built = entryPoints();
    expect(built).toContain("verify/cli");
    for (const [, cmd] of launched) expect(built).toContain(cmd.split(" ")[2]);
  });
});
