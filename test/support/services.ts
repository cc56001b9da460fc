// The real services of the integration tests, as a test file asks for them:
//
//   const synapse = await service('synapse')
//
// The first file to ask for a service starts it, in vitest's main process (see global-setup.ts);
// later files, in any worker, get the same one, and the end of the run stops it. A run that
// needs no keyring starts none, and a unit test, which runs without the broker, gets an error.
import {request} from 'node:http'
import {inject} from 'vitest'
import type {ProvidedMasStack} from './mas-stack.js'

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

/** Every service a test can ask for, by name. */
export interface TestServices {
  synapse: ProvidedSynapse
  /** The test Synapse and a Dendrite: the life-cycle suites run once per homeserver. */
  homeservers: ProvidedHomeserver[]
  wellKnown: ProvidedWellKnown
  /** The environment that points a client at the run's shared gnome-keyring, on a private bus. */
  keyringEnv: Record<string, string>
  /** A second Synapse, in its MAS mode, behind a real OAuth 2.0 sign-in service. */
  masStack: ProvidedMasStack
}

export type ServiceName = keyof TestServices

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the main process starts services on request: http://127.0.0.1:<port>. */
    serviceBroker: string
  }
}

const asked = new Map<ServiceName, Promise<unknown>>()

/** The named service, started by the first test file that asks for it. */
export function service<K extends ServiceName>(name: K): Promise<TestServices[K]> {
  let answer = asked.get(name)
  if (!answer) {
    answer = ask(name)
    asked.set(name, answer)
  }
  return answer as Promise<TestServices[K]>
}

function ask(name: ServiceName): Promise<unknown> {
  const broker = inject('serviceBroker')
  if (!broker) return Promise.reject(new Error(`no test services here: a unit test may not use the test ${name}; put the test in test/integration/ instead`))
  return new Promise((resolve, reject) => {
    // No timeout of its own: a start has the broker's deadlines, and a first build may take minutes.
    const req = request(`${broker}/${name}`, {agent: false}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => {
        if (res.statusCode === 200) resolve(JSON.parse(body))
        else reject(new Error(`the test ${name} is not available: ${body}`))
      })
      res.on('error', reject)
    })
    req.on('error', (error) => reject(new Error(`could not reach the test service broker at ${broker}: ${error.message}`)))
    req.end()
  })
}
