// Next-generation auth for real: a Synapse in its MAS mode in front of the oidc-provider stand-in.
import {CONTROL_PREFIX, startOidcMas} from './oidc-mas.js'
import {startSynapse} from './synapse.js'

/** What tests get of the stack: plain data, because it crosses into worker processes. */
export interface ProvidedMasStack {
  /** The homeserver's base URL. */
  baseUrl: string
  serverName: string
  /** The sign-in service's issuer URL, where the scripted browser goes. */
  issuer: string
  /** Shared by Synapse and the sign-in service; tests use it for the stand-in's controls and introspection. */
  secret: string
  /** The stand-in's own controls (accounts, killing a token or a client), behind the Bearer secret. */
  controlUrl: string
  /** Synapse's sqlite database, to check devices from outside mxtok. */
  database: string
}

export interface MasStack {
  provided: ProvidedMasStack
  /** Seconds from nothing to both answering. */
  startS: number
  stop(): Promise<void>
}

export async function startMasStack(): Promise<MasStack> {
  const started = Date.now()
  // The sign-in service first: Synapse is configured with its URL, and it learns Synapse's after.
  const mas = await startOidcMas()
  try {
    const synapse = await startSynapse({mas: {endpoint: mas.issuer, secret: mas.secret}})
    mas.setHomeserver(synapse.baseUrl)
    return {
      provided: {
        baseUrl: synapse.baseUrl,
        serverName: synapse.serverName,
        issuer: mas.issuer,
        secret: mas.secret,
        controlUrl: `${mas.issuer}${CONTROL_PREFIX}`,
        database: `${synapse.dir}/homeserver.db`,
      },
      startS: (Date.now() - started) / 1000,
      async stop() {
        await Promise.allSettled([synapse.stop(), mas.close()])
      },
    }
  } catch (error) {
    await mas.close()
    throw error
  }
}
