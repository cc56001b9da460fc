// Starts the real services once per test run; test files reach them through inject().
import type {TestProject} from 'vitest/node'
import {type DendriteServer, startDendrite} from './dendrite.js'
import {type KeyringSession, startKeyring} from './keyring.js'
import {type MasStack, type ProvidedMasStack, startMasStack} from './mas-stack.js'
import {type SynapseServer, startSynapse} from './synapse.js'
import {startWellKnown, type WellKnownServer} from './well-known-tls.js'

/** The part of the homeserver a test needs; plain data, because it crosses into worker processes. */
export interface ProvidedSynapse {
  baseUrl: string
  serverName: string
  registrationSecret: string
  /** Its data directory: homeserver.db is the server's own record, for tests to check from outside. */
  dir: string
}

export type HomeserverKind = 'synapse' | 'dendrite'

/** One of the homeserver implementations the life-cycle suite runs against. */
export interface ProvidedHomeserver extends ProvidedSynapse {
  kind: HomeserverKind
}

/** https://<serverName>/.well-known/matrix/client on port 443, pointing at the test Synapse. */
export interface ProvidedWellKnown {
  serverName: string
  /** The throwaway CA that signed its certificate: NODE_EXTRA_CA_CERTS for mxtok. */
  caFile: string
  /** The base URL it names. */
  homeserver: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    synapse: ProvidedSynapse
    homeservers: ProvidedHomeserver[]
    wellKnown: ProvidedWellKnown
    keyringEnv: Record<string, string>
    /** A second Synapse, in its MAS mode, behind a real OAuth 2.0 sign-in service. */
    masStack: ProvidedMasStack
  }
}

type Service = KeyringSession | SynapseServer | DendriteServer | WellKnownServer | MasStack

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Resolves to the service and how long it took to start. */
async function timed<T>(start: () => Promise<T>): Promise<{service: T; ms: number}> {
  const started = performance.now()
  const service = await start()
  return {service, ms: performance.now() - started}
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now()
  const synapseStart = timed(startSynapse)
  // The well-known names the Synapse, so it starts once Synapse has its port.
  const wellKnownStart = synapseStart.then(({service}) => timed(() => startWellKnown(service.baseUrl)))
  const results = await Promise.allSettled([
    timed(() => startKeyring({restartOnCrash: true})),
    synapseStart,
    timed(startDendrite),
    wellKnownStart,
    timed(startMasStack),
  ])
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.service as Service] : []))
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
  if (failures.length > 0) {
    await Promise.allSettled(running.map((s) => s.stop()))
    // The well-known fails with Synapse when Synapse does: one error says more than two.
    throw failures.length === 1
      ? failures[0]
      : new AggregateError(failures, `${failures.length} test services failed to start: ${failures.map((e) => (e as Error).message.split('\n')[0]).join('; ')}`)
  }
  const [keyring, synapse, dendrite, wellKnown, masStack] = results.map((r) => (r as PromiseFulfilledResult<{service: Service; ms: number}>).value) as [
    {service: KeyringSession; ms: number},
    {service: SynapseServer; ms: number},
    {service: DendriteServer; ms: number},
    {service: WellKnownServer; ms: number},
    {service: MasStack; ms: number},
  ]

  const provided = (s: SynapseServer | DendriteServer) => ({baseUrl: s.baseUrl, serverName: s.serverName, registrationSecret: s.registrationSecret, dir: s.dir})
  project.provide('synapse', provided(synapse.service))
  project.provide('homeservers', [
    {kind: 'synapse', ...provided(synapse.service)},
    {kind: 'dendrite', ...provided(dendrite.service)},
  ])
  project.provide('wellKnown', {serverName: wellKnown.service.serverName, caFile: wellKnown.service.caFile, homeserver: synapse.service.baseUrl})
  project.provide('keyringEnv', keyring.service.env)
  project.provide('masStack', masStack.service.provided)
  process.stderr.write(
    `test services ready in ${seconds(Date.now() - started)} (keyring ${seconds(keyring.ms)}, Synapse ${seconds(synapse.ms)}, Dendrite ${seconds(dendrite.ms)} of which ${seconds(dendrite.service.startMs)} its own start, well-known TLS ${seconds(wellKnown.ms)}): Synapse ${synapse.service.baseUrl}, Dendrite ${dendrite.service.baseUrl}, keyring ${keyring.service.env.DBUS_SESSION_BUS_ADDRESS}, ` +
      `Synapse in MAS mode ${masStack.service.provided.baseUrl} behind ${masStack.service.provided.issuer} (${seconds(masStack.ms)})\n`,
  )

  return async () => {
    await Promise.allSettled(running.map((s) => s.stop()))
  }
}
