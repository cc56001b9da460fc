// One of several processes that increment a shared counter file under withLockFile: a lost
// increment means two held the lock at once. Run with tsx: lock-contender.ts LOCK COUNTER ROUNDS
// A failure is printed as "kind: message" on stderr, exit 1.
import {readFileSync, writeFileSync} from 'node:fs'
import {withLockFile} from '../../src/fs/lock-file.js'

const [lock, counter, rounds] = process.argv.slice(2)
try {
  for (let i = 0; i < Number(rounds); i++) {
    await withLockFile(lock, async () => {
      const n = Number(readFileSync(counter, 'utf8'))
      await new Promise((resolve) => setTimeout(resolve, 2))
      writeFileSync(counter, String(n + 1))
    })
  }
} catch (error) {
  process.stderr.write(`${(error as {kind?: string}).kind}: ${(error as Error).message}\n`)
  process.exitCode = 1
}
