import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // Child-process workers: native code (the keychain binding) sees process.env changes only
    // in a real process, not in a worker thread.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // In-process and server-free: test/support refuses to start a daemon or a server here,
          // and services.ts to hand out a service.
          env: {MXTOK_TEST_NO_SERVICES: '1'},
          // A worker per core: vitest's default leaves one free, which on two cores runs one file at a
          // time. Unit test files share nothing; the integration files keep the default.
          maxWorkers: '100%',
          // Projects with their own maxWorkers run as groups, one after the other: these first.
          sequence: {groupOrder: 0},
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Starts nothing by itself: each service when a test file first asks for it.
          globalSetup: ['test/support/global-setup.ts'],
          sequence: {groupOrder: 1},
        },
      },
    ],
  },
})
