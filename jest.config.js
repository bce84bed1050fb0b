// Jest configuration: TypeScript through ts-jest in transpile-only mode (type checking is done
// once, for the whole project, by `tsc --noEmit` in `npm test`). Two projects: the unit suites, and
// the box suites (test/box, real dockerd and sshd on this machine), whose global setup brings the
// box up (test/box/box.sh) and builds the one runtime image; jest runs a project's global setup
// only when one of its tests is selected, so `npx jest test/ops/x.test.ts` never starts the box.
const transform = { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      roots: ["<rootDir>/test"],
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/box/"],
      transform,
    },
    {
      displayName: "box",
      testEnvironment: "node",
      roots: ["<rootDir>/test/box"],
      testMatch: ["**/*.test.ts"],
      transform,
      globalSetup: "<rootDir>/test/box/globalSetup.ts",
      globalTeardown: "<rootDir>/test/box/globalTeardown.ts",
    },
  ],
};
