// The integration tests' service broker, in vitest's main process: each real service starts when
// the first test file asks for it (services.ts), once per run, whichever worker asks, and what was
// started stops at the end of the run. A run of files that need only Synapse starts only Synapse.
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {TestProject} from 'vitest/node'
import {startDendrite} from './dendrite.js'
import {startKeyring} from './keyring.js'
import {startMasStack} from './mas-stack.js'
import type {ProvidedSynapse, ServiceName, TestServices} from './services.js'
import {startSynapse} from './synapse.js'
import {startWellKnown} from './well-known-tls.js'

interface Started<T> {
  provided: T
  /** Said once it is ready, after its name and start time. */
  detail: string
  stop(): Promise<void>
}

/** What the broker starts: the services, the keyring under its own name, and Dendrite, which tests get among the homeservers. */
interface Internal extends Omit<TestServices, 'keyringEnv'> {
  keyring: TestServices['keyringEnv']
  dendrite: ProvidedSynapse
}

type Starters = {[K in keyof Internal]: () => Promise<Started<Internal[K]>>}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const homeserver = (s: ProvidedSynapse): ProvidedSynapse => ({
  baseUrl: s.baseUrl,
  serverName: s.serverName,
  registrationSecret: s.registrationSecret,
  dir: s.dir,
})
const nothingToStop = async () => {}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const starts = new Map<keyof Internal, Promise<Started<unknown>>>()
  /** The service, started on the first call; a failed start stays failed, so every file says why at once. */
  const get = <K extends keyof Internal>(name: K): Promise<Started<Internal[K]>> => {
    let start = starts.get(name)
    if (!start) {
      const began = Date.now()
      start = starters[name]().then((started) => {
        process.stderr.write(`test service ${name} ready in ${seconds(Date.now() - began)}: ${started.detail}\n`)
        return started
      })
      starts.set(name, start)
    }
    return start as Promise<Started<Internal[K]>>
  }

  const starters: Starters = {
    async keyring() {
      const keyring = await startKeyring({restartOnCrash: true})
      return {provided: keyring.env, detail: keyring.env.DBUS_SESSION_BUS_ADDRESS, stop: () => keyring.stop()}
    },
    async synapse() {
      const synapse = await startSynapse()
      return {provided: homeserver(synapse), detail: synapse.baseUrl, stop: () => synapse.stop()}
    },
    async dendrite() {
      const dendrite = await startDendrite()
      return {provided: homeserver(dendrite), detail: `${dendrite.baseUrl}, of which ${seconds(dendrite.startMs)} its own start`, stop: () => dendrite.stop()}
    },
    async homeservers() {
      const [synapse, dendrite] = await Promise.all([get('synapse'), get('dendrite')])
      return {
        provided: [
          {kind: 'synapse', ...synapse.provided},
          {kind: 'dendrite', ...dendrite.provided},
        ],
        detail: 'Synapse and Dendrite',
        stop: nothingToStop,
      }
    },
    async wellKnown() {
      // It names the Synapse, so it starts once Synapse has its port.
      const synapse = await get('synapse')
      const wellKnown = await startWellKnown(synapse.provided.baseUrl)
      return {
        provided: {serverName: wellKnown.serverName, caFile: wellKnown.caFile, homeserver: synapse.provided.baseUrl},
        detail: `https://${wellKnown.serverName}/.well-known/matrix/client`,
        stop: () => wellKnown.stop(),
      }
    },
    async masStack() {
      const stack = await startMasStack()
      return {provided: stack.provided, detail: `Synapse in MAS mode ${stack.provided.baseUrl} behind ${stack.provided.issuer}`, stop: () => stack.stop()}
    },
  }
  const asked: Record<ServiceName, () => Promise<unknown>> = {
    synapse: async () => (await get('synapse')).provided,
    homeservers: async () => (await get('homeservers')).provided,
    wellKnown: async () => (await get('wellKnown')).provided,
    keyringEnv: async () => (await get('keyring')).provided,
    masStack: async () => (await get('masStack')).provided,
  }

  const broker = createServer((req, res) => {
    const name = (req.url ?? '').slice(1) as ServiceName
    if (req.method !== 'GET' || !Object.hasOwn(asked, name)) {
      res.writeHead(404, {'content-type': 'text/plain'}).end(`no test service ${JSON.stringify(name)}; there are ${Object.keys(asked).join(', ')}`)
      return
    }
    asked[name]().then(
      (provided) => res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(provided)),
      (error: unknown) => res.writeHead(500, {'content-type': 'text/plain'}).end(error instanceof Error ? error.message : String(error)),
    )
  })
  // A start can take minutes (a first Dendrite build): no request may time out meanwhile.
  broker.requestTimeout = 0
  await new Promise<void>((resolve, reject) => {
    broker.once('error', reject)
    broker.listen(0, '127.0.0.1', () => resolve())
  })
  project.provide('serviceBroker', `http://127.0.0.1:${(broker.address() as AddressInfo).port}`)

  return async () => {
    broker.closeAllConnections()
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    // Starts still under way finish first, so that nothing they start outlives the run.
    const started = await Promise.allSettled(starts.values())
    await Promise.allSettled(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop()] : [])))
  }
}
