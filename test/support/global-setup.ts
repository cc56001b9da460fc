// Starts the real services once per test run; test files reach them through inject().
import type {TestProject} from 'vitest/node'
import {startKeyring, type KeyringSession} from './keyring.js'
import {startSynapse, type SynapseServer} from './synapse.js'

/** The part of the homeserver a test needs; plain data, because it crosses into worker processes. */
export interface ProvidedSynapse {
  baseUrl: string
  serverName: string
  registrationSecret: string
  /** Its data directory: homeserver.db is the server's own record, for tests to check from outside. */
  dir: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    synapse: ProvidedSynapse
    keyringEnv: Record<string, string>
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now()
  const [keyring, synapse] = await Promise.allSettled([startKeyring(), startSynapse()])
  const running = [keyring, synapse].flatMap((r) =>
    r.status === 'fulfilled' ? [r.value as KeyringSession | SynapseServer] : [],
  )
  if (keyring.status === 'rejected' || synapse.status === 'rejected') {
    await Promise.allSettled(running.map((s) => s.stop()))
    const errors = [keyring, synapse].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, 'keyring and Synapse both failed to start')
  }

  project.provide('synapse', {
    baseUrl: synapse.value.baseUrl,
    serverName: synapse.value.serverName,
    registrationSecret: synapse.value.registrationSecret,
    dir: synapse.value.dir,
  })
  project.provide('keyringEnv', keyring.value.env)
  process.stderr.write(
    `test services ready in ${((Date.now() - started) / 1000).toFixed(1)} s: Synapse ${synapse.value.baseUrl}, keyring ${keyring.value.env.DBUS_SESSION_BUS_ADDRESS}\n`,
  )

  return async () => {
    await Promise.allSettled(running.map((s) => s.stop()))
  }
}
