#!/usr/bin/env node
// Starts an operator tool or the verifier from its compiled bundle in dist/ (`npm run build`,
// which `npm ci` runs as the package's `prepare` script), as if `node dist/<entry>.js` had been
// run: `node launch.js ops/cli/status --json`. Each entry point named in package.json's scripts
// (`node launch.js <entry>`), plus the verifier (verify/cli), is bundled with esbuild into one
// file: one file to read instead of ~250 modules (zod, undici) is most of the start-up saved.
// Plain JavaScript on purpose: it must not need the build it guards.
// Stale-build protection: dist/.source-hash records the hash of the sources the bundles were
// built from; when the sources differ (a `git pull` without `npm ci`), it rebuilds once, under a
// lock so concurrent starts (the deploy's verification commands) build once, and refuses to run
// old JavaScript when the build fails. A cheap signature of the sources' sizes and mtimes skips
// hashing the contents when nothing was touched.
// A CommonJS script: strict mode is asked for here (Biome reads .js as a module, where it is implied).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = __dirname;
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".source-hash");
const LOCK = path.join(ROOT, ".dist-build.lock");
const SOURCE_DIRS = ["ops", "verify", "lib", "gate", "components", "policy/policies"];
const SOURCE_FILES = ["package.json", "tsconfig.json"];
const ALWAYS_BUILT = ["verify/cli"];
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

function sources() {
  return SOURCE_DIRS.flatMap((d) => tsFiles(path.join(ROOT, d), []))
    .concat(SOURCE_FILES.map((f) => path.join(ROOT, f)))
    .sort();
}

/** Hash of every source the bundles come from (paths and contents). */
function sourceHash(files = sources()) {
  const hash = crypto.createHash("sha256");
  for (const f of files) {
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

/** Sizes and mtimes only: unchanged means no file was written since the stamp. */
function statSignature(files) {
  const hash = crypto.createHash("sha256");
  for (const f of files) {
    let st;
    try {
      st = fs.statSync(f);
    } catch {
      st = { size: -1, mtimeMs: 0 };
    }
    hash.update(`${path.relative(ROOT, f)}:${st.size}:${st.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

function readStamp() {
  try {
    const [content, stat] = fs.readFileSync(STAMP, "utf8").trim().split(" ");
    return { content, stat };
  } catch {
    return { content: "", stat: "" };
  }
}

function writeStamp(content, stat) {
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(STAMP, `${content} ${stat}\n`);
}

/** `node launch.js <entry>` entry points in package.json's scripts, plus the verifier. */
function entryPoints() {
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts || {};
  const named = Object.values(scripts)
    .map((cmd) => /(?:^|&& )node launch\.js ([a-zA-Z0-9_/.-]+)/.exec(cmd)?.[1])
    .filter((e) => e && !e.startsWith("-"));
  return [...new Set([...ALWAYS_BUILT, ...named])].filter((e) => fs.existsSync(path.join(ROOT, `${e}.ts`))).sort();
}

/** Bundles every entry point into dist/<entry>.js; returns esbuild's errors (empty: built). */
function bundle() {
  let esbuild;
  try {
    esbuild = require(path.join(ROOT, "node_modules", "esbuild"));
  } catch {
    return ["esbuild is not installed (run `npm ci`)"];
  }
  try {
    esbuild.buildSync({
      absWorkingDir: ROOT,
      entryPoints: entryPoints().map((e) => `${e}.ts`),
      outdir: DIST,
      outbase: ROOT,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      sourcemap: "linked",
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: "external",
      logLevel: "silent",
    });
    return [];
  } catch (err) {
    return (err.errors || [{ text: String(err.message || err) }]).map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Rebuilds under the lock unless another process did meanwhile; exits with error/what to do on failure. */
function build(files, why) {
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
      if (Date.now() > deadline)
        fail(`another build of dist/ holds ${LOCK} for more than ${LOCK_WAIT_MS / 1000} s`, `remove ${LOCK} if no build runs, then run \`npm run build\``);
      sleep(200);
    }
  }
  let errors = [];
  try {
    const content = sourceHash(files);
    const stat = statSignature(files);
    if (readStamp().content === content) return writeStamp(content, stat);
    if (why) process.stderr.write(`note: ${why}; building it now (npm run build)...\n`);
    errors = bundle();
    if (errors.length === 0) writeStamp(content, stat);
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
  if (errors.length > 0) {
    process.stderr.write(errors.map((e) => `  ${e}\n`).join(""));
    fail(
      "building dist/ from the TypeScript sources failed (see above); not running the old build",
      "fix the errors (`npm run build` shows them), or check out a commit that builds",
    );
  }
}

function ensureFresh() {
  const files = sources();
  const stamp = readStamp();
  if (stamp.stat && stamp.stat === statSignature(files)) return;
  if (stamp.content && stamp.content === sourceHash(files)) return writeStamp(stamp.content, statSignature(files));
  build(files, stamp.content ? "the sources changed since dist/ was built (a git pull without npm ci?)" : "dist/ has not been built");
}

function main() {
  const entry = process.argv[2];
  if (entry === "--build") {
    fs.rmSync(STAMP, { force: true });
    return build(sources(), "");
  }
  if (!entry || !/^[a-zA-Z0-9_/.-]+$/.test(entry) || entry.includes(".."))
    fail(`launch.js needs an entry point such as ops/cli/status, got ${entry || "nothing"}`, "run the tools through their npm scripts (README, Operate)");
  ensureFresh();
  const file = path.join(DIST, `${entry}.js`);
  if (!fs.existsSync(file))
    fail(`${path.relative(ROOT, file)} does not exist after the build`, "name the entry point in a package.json script (`node launch.js <entry>`)");
  process.argv = [process.argv[0], file, ...process.argv.slice(3)];
  // Runs the bundle as the main module (require.main is it), exactly as `node <file>` would.
  require("node:module").runMain();
}

module.exports = { sourceHash, entryPoints };
if (require.main === module) main();
