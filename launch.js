#!/usr/bin/env node
// Starts an operator tool or the verifier from its compiled JavaScript in dist/ (npm run build,
// which `npm ci` runs as the package's `prepare` script), as if `node dist/<entry>.js` had been
// run: `node launch.js ops/status/main --json`. Plain JavaScript on purpose: it must not need the
// build it guards. Stale-build protection: dist/.source-hash records the hash of the TypeScript
// sources it was built from; when the sources differ (a `git pull` without `npm ci`), it rebuilds
// dist/ once, under a lock so concurrent starts (the deploy's verification commands) build once,
// and refuses to run old JavaScript if the build fails.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const ROOT = __dirname;
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".source-hash");
const LOCK = path.join(ROOT, ".dist-build.lock");
const SOURCE_DIRS = ["ops", "verify", "lib", "policy/policies"];
const SOURCE_FILES = ["tsconfig.json", "tsconfig.build.json"];
const LOCK_WAIT_MS = 180000;
const STALE_LOCK_MS = 600000;

function fail(message, hint) {
  process.stderr.write(`error: ${message}\n  what to do: ${hint}\n`);
  process.exit(1);
}

function tsFiles(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === "node_modules") continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) tsFiles(full, out);
    else if (e.name.endsWith(".ts")) out.push(full);
  }
  return out;
}

/** Hash of every source the build compiles (paths and contents), in a stable order. */
function sourceHash() {
  const files = SOURCE_DIRS.flatMap((d) => tsFiles(path.join(ROOT, d), [])).concat(SOURCE_FILES.map((f) => path.join(ROOT, f)));
  const hash = crypto.createHash("sha256");
  for (const f of files.sort()) {
    hash.update(path.relative(ROOT, f)).update("\0");
    try {
      hash.update(fs.readFileSync(f));
    } catch {
      hash.update("(missing)");
    }
    hash.update("\0");
  }
  return hash.digest("hex");
}

function stampOf() {
  try {
    return fs.readFileSync(STAMP, "utf8").trim();
  } catch {
    return "";
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function build(want, why) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      try {
        if (Date.now() - fs.statSync(LOCK).mtimeMs > STALE_LOCK_MS) fs.rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // removed meanwhile
      }
      if (Date.now() > deadline) fail(`another build of dist/ holds ${LOCK} for more than ${LOCK_WAIT_MS / 1000} s`, `remove ${LOCK} if no build runs, then run \`npm run build\``);
      sleep(200);
      if (stampOf() === want) return;
    }
  }
  let failure;
  try {
    if (stampOf() === want) return;
    process.stderr.write(`note: ${why}; building it now (npm run build)...\n`);
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    if (!fs.existsSync(tsc)) failure = ["TypeScript is not installed, so dist/ cannot be built", "run `npm ci` in the project directory"];
    else {
      const res = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json")], { stdio: ["ignore", 2, 2] });
      if (res.status === 0) writeStamp(want);
      else failure = ["building dist/ from the TypeScript sources failed (see above); not running the old build", "fix the errors (`npm run build` shows them), or check out a commit that builds"];
    }
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
  if (failure) fail(failure[0], failure[1]);
}

function writeStamp(hash) {
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(STAMP, `${hash}\n`);
}

function main() {
  const entry = process.argv[2];
  if (entry === "--stamp") return writeStamp(sourceHash());
  if (!entry || !/^[a-zA-Z0-9_/.-]+$/.test(entry) || entry.includes("..")) fail(`launch.js needs an entry point such as ops/status/main, got ${entry || "nothing"}`, "run the tools through their npm scripts (README, Operate)");
  const want = sourceHash();
  const have = stampOf();
  if (have !== want) build(want, have ? "the sources changed since dist/ was built (a git pull without npm ci?)" : "dist/ has not been built");
  const file = path.join(DIST, `${entry}.js`);
  if (!fs.existsSync(file)) fail(`${path.relative(ROOT, file)} does not exist after the build`, "check the entry point name in package.json");
  process.argv = [process.argv[0], file, ...process.argv.slice(3)];
  // Runs the file as the main module (require.main is it), exactly as `node <file>` would.
  require("module").runMain();
}

module.exports = { sourceHash };
if (require.main === module) main();
