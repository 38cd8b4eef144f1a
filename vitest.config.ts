import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Kernel-conformance tests build network namespaces; run files one by one so they never collide.
    fileParallelism: true,
    pool: 'forks',
  },
});
