import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // Two files at a time even on two cores (vitest's default would be one): a file mostly waits on
          // PostgreSQL, Redis, sockets and timers, so the tier takes about two thirds of the time.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 90_000,
          pool: 'forks',
          // One browser and one server at a time: Chromium is heavy on two cores.
          fileParallelism: false,
        },
      },
      {
        // The real LiveKit (npm run test:livekit): livekit-server, livekit-sip and a SIPp phone built
        // by dev/real-livekit/install.sh, versitygw with Object Lock, real Chromium. Real time, so one
        // file at a time.
        test: {
          name: 'livekit',
          include: ['test/livekit/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/livekit/global-setup.ts', 'test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        // Fault injection (npm run test:reliability): facesign nodes as child processes, killed at
        // random; private PostgreSQL and Redis. One file at a time: they crash servers on purpose.
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/reliability/global-setup.ts'],
          setupFiles: ['test/reliability/support/record-failures.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
