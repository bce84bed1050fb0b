// The one git HEAD reader (lib/git.ts): its command line by string equality, and what it reads
// from a real scratch checkout (and refuses outside one).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createScratchCheckout } from "../../gate/scratchCheckout";
import { headArgs, readCheckoutState, readHead } from "../../lib/git";

describe("git HEAD", () => {
  it("asks git for HEAD's commit, verified", () => {
    expect(headArgs("/src").join(" ")).toBe("-C /src rev-parse --verify HEAD^{commit}");
  });

  it("reads the HEAD of a checkout and its clean state", () => {
    const scratch = createScratchCheckout();
    try {
      expect(readHead(scratch.dir)).toBe(scratch.head);
      expect(readHead(scratch.dir)).toMatch(/^[0-9a-f]{40}$/);
      expect(readCheckoutState(scratch.dir)).toEqual({ head: scratch.head, dirty: false, changes: [] });
      fs.writeFileSync(path.join(scratch.dir, "new.txt"), "x");
      expect(readCheckoutState(scratch.dir)).toEqual({ head: scratch.head, dirty: true, changes: ["?? new.txt"] });
    } finally {
      scratch.remove();
    }
  });

  it("throws with git's stderr outside a checkout", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-checkout-"));
    try {
      let stderr = "";
      try {
        readHead(dir, { env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
      } catch (err) {
        stderr = String((err as { stderr?: unknown }).stderr);
      }
      expect(stderr).toMatch(/not a git repository/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
