// Jest configuration: TypeScript through ts-jest in transpile-only mode (type checking is done
// once, for the whole project, by `tsc --noEmit` in `npm test`).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 60000,
  maxWorkers: 2,
};
