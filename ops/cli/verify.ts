// `npm run verify`: with `--service-url`, verifies that one service URL (verify/cli.ts, the
// verifier the deploy runs); without it, re-verifies every deployed lane from the current stack
// outputs (ops/cli/verify/stack.ts), changing nothing.
import { main as verifyStack } from "./verify/stack";

const argv = process.argv.slice(2);
if (argv.some((a) => a === "--service-url" || a.startsWith("--service-url="))) {
  // The verifier CLI runs on import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../../verify/cli");
} else {
  verifyStack(argv).then((code) => {
    process.exitCode = code;
  });
}
