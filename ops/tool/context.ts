// What every operator tool needs from its surroundings, in one injectable object: environment
// (PATH decides which pulumi/ssh/docker run), project directory, stack, output sinks and the TTY.
import * as readline from "node:readline";
import { DEFAULT_STACK, NAMESPACE } from "../../lib/projectFacts";
import { projectRoot } from "../../lib/projectRoot";

/** The project's config namespace (defined in lib/projectFacts.ts). */
export { NAMESPACE as PROJECT_NAMESPACE };

export interface OpsContext {
  env: NodeJS.ProcessEnv;
  /** Directory holding Pulumi.yaml; pulumi runs here and `--policy-pack policy` resolves here. */
  projectDir: string;
  stack: string;
  out: (line: string) => void;
  err: (line: string) => void;
  /** True when a human can answer questions on stdin. */
  isTTY: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  prompt: (question: string) => Promise<string>;
  /** Let long-running children (pulumi up) draw on the terminal directly. */
  inheritStdio: boolean;
}

function terminalPrompt(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}

/** The context a CLI entry point uses when nothing is injected: this process's terminal. */
export function processContext(overrides: Partial<OpsContext> = {}): OpsContext {
  return {
    env: process.env,
    projectDir: projectRoot(__dirname),
    stack: DEFAULT_STACK,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    prompt: terminalPrompt,
    inheritStdio: true,
    ...overrides,
  };
}
