import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Scenario tests start real servers on loopback; run files one at a time so two labs never
    // compete for the machine's two cores.
    fileParallelism: false,
    reporters: ['default'],
  },
});
