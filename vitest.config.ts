import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Child-process workers: native code (the keychain binding) sees process.env changes only
    // in a real process, not in a worker thread.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
})
