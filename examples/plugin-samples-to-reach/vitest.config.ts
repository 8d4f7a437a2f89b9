import { defineConfig } from 'vitest/config';

// The conformance suite needs an active tfjs backend: test/setup.ts registers and sets `cpu`.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], setupFiles: ['./test/setup.ts'], testTimeout: 120_000 },
});
