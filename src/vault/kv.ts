import {isDeepStrictEqual} from 'node:util'
import {usageError} from '../errors.js'
import type {VaultClient} from './client.js'
import {CasMismatch, VaultError} from './errors.js'
import {refused, serverErrors} from './request.js'

/** A secret's current fields and the version they are. */
export interface KvSecret {
  data: Record<string, unknown>
  version: number
}

/** One name in a listed folder. Folders end in "/" and carry nothing else. */
export interface KvEntry {
  name: string
  folder: boolean
  /** From detailed-metadata (OpenBao 2.2 and later); absent after the plain list. */
  version?: number
  updatedTime?: string
  /** The current version is soft-deleted (it lists, but reads as missing). */
  deleted?: boolean
  /** The secret's custom_metadata, from detailed-metadata. */
  customMetadata?: Record<string, string>
}

/** Each page of a detailed list: a few hundred KiB of metadata. */
const LIST_PAGE = 1000
/** A standby that answers reads itself may not have applied the latest write yet: it is given up to 2 s. */
const CATCH_UP_TRIES = 20
const CATCH_UP_WAIT_MS = 100

/**
 * A KV version 2 mount. Paths are relative to the mount (`mxtok/sessions/bot`); every write is a
 * check-and-set on the version it was based on, so two writers never silently overwrite each other.
 */
export class KvV2 {
  constructor(
    private readonly client: VaultClient,
    readonly mount: string,
  ) {
    if (!/^[^/]+(\/[^/]+)*$/.test(mount)) throw usageError(`"${mount}" is not a KV mount path; give it as e.g. secret`)
  }

  /** The API path of `kind` (data, metadata, detailed-metadata) for `path`, as policies name it. */
  apiPath(kind: 'data' | 'metadata' | 'detailed-metadata' | 'destroy', path: string): string {
    return `${this.mount}/${kind}/${encodePath(path)}`
  }

  /** Undefined when the secret does not exist, or its current version is deleted or destroyed. */
  async read(path: string, version?: number): Promise<KvSecret | undefined> {
    const query = version === undefined ? undefined : {version: String(version)}
    const {status, body} = await this.client.call({method: 'GET', path: this.apiPath('data', path), query, capability: 'read', answers: [404]})
    const data = body.data as {data?: unknown; metadata?: {version?: unknown}} | null | undefined
    if (status === 404 || !data?.data || typeof data.data !== 'object') return undefined
    const found = data.metadata?.version
    if (typeof found !== 'number') throw this.badAnswer('GET', path, 'no metadata.version')
    return {data: data.data as Record<string, unknown>, version: found}
  }

  /**
   * Writes `data` as the next version if the secret is still at version `cas` (0: does not exist
   * yet) and returns the new version; throws CasMismatch otherwise. When an earlier attempt of
   * the same write got no answer and the retry then mismatches, the write may be the one that
   * landed: version cas+1 is read and compared, so a write lands once and is reported as done.
   */
  async write(path: string, data: Record<string, unknown>, cas: number): Promise<number> {
    const apiPath = this.apiPath('data', path)
    for (let tries = 1; ; tries++) {
      const answer = await this.client.call({
        method: 'POST',
        path: apiPath,
        body: {data, options: {cas}},
        capability: cas === 0 ? 'create' : 'update',
        answers: [400],
      })
      if (answer.status !== 400) {
        const version = (answer.body.data as {version?: unknown} | undefined)?.version
        if (typeof version !== 'number') throw this.badAnswer('POST', path, 'no version')
        return version
      }
      const said = serverErrors(answer.body)
      if (!/check-and-set/i.test(said)) throw refused(this.client.host, {method: 'POST', path: apiPath}, 400, said)
      if (answer.mayHaveLanded && (await this.landed(path, data, cas + 1))) return cas + 1
      // An OpenBao standby checks the version against its own copy before it forwards a write to
      // the leader, and that copy may lag a write or two behind: a mismatch is a conflict only
      // once the node has seen a version after `cas`; until then the write is sent again.
      if (cas === 0 || tries >= CATCH_UP_TRIES || ((await this.read(path))?.version ?? cas + 1) > cas) {
        throw new CasMismatch(this.client.host, apiPath, cas)
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_WAIT_MS))
    }
  }

  /** The secret's current version, from its metadata; undefined when there is no such secret. `withinMs` bounds the call. */
  async currentVersion(path: string, withinMs?: number): Promise<number | undefined> {
    const {status, body} = await this.client.call({method: 'GET', path: this.apiPath('metadata', path), capability: 'read', answers: [404], withinMs})
    if (status === 404) return undefined
    const version = (body.data as {current_version?: unknown} | undefined)?.current_version
    if (typeof version !== 'number') throw this.badAnswer('GET', path, 'no current_version in its metadata')
    return version
  }

  /** Every version and its metadata gone (DELETE metadata); a missing secret is no error. `withinMs` bounds the call. */
  async remove(path: string, withinMs?: number): Promise<void> {
    await this.client.call({method: 'DELETE', path: this.apiPath('metadata', path), capability: 'delete', withinMs})
  }

  /** Sets the secret's custom_metadata (string values), which is written apart from its data and so not with its check-and-set. */
  async writeMetadata(path: string, customMetadata: Record<string, string>): Promise<void> {
    await this.client.call({method: 'POST', path: this.apiPath('metadata', path), body: {custom_metadata: customMetadata}, capability: 'update'})
  }

  /** Destroys these versions' data for good (their metadata stays); versions already gone are no error. */
  async destroy(path: string, versions: number[]): Promise<void> {
    if (versions.length === 0) return
    await this.client.call({method: 'POST', path: this.apiPath('destroy', path), body: {versions}, capability: 'update'})
  }

  /**
   * The names in a folder, with each secret's version where the server gives it in one call
   * (detailed-metadata, OpenBao 2.2 and later, in pages); otherwise the plain list of names,
   * which HashiCorp Vault and older OpenBao answer, and which a policy written for the CLI's
   * `kv list` allows. An empty or missing folder lists as [].
   */
  async list(folder: string): Promise<KvEntry[]> {
    const detailed = await this.listDetailed(folder)
    if (detailed) return detailed
    const {status, body} = await this.client.call({
      method: 'GET',
      path: folderPath(this.apiPath('metadata', folder)),
      query: {list: 'true'},
      capability: 'list',
      answers: [404],
    })
    if (status === 404) return []
    return keysOf(body).map((name) => ({name, folder: name.endsWith('/')}))
  }

  /** Undefined when the server has no detailed-metadata, or the policy allows only the plain list. */
  private async listDetailed(folder: string): Promise<KvEntry[] | undefined> {
    const entries: KvEntry[] = []
    let after: string | undefined
    for (;;) {
      const query: Record<string, string> = {list: 'true', limit: String(LIST_PAGE)}
      if (after !== undefined) query.after = after
      const {status, body} = await this.client.call({
        method: 'GET',
        path: folderPath(this.apiPath('detailed-metadata', folder)),
        query,
        capability: 'list',
        answers: [400, 403, 404, 405],
      })
      // An empty folder (or the page after the last) is 404 with {"errors": []}; a path the mount
      // does not know, as detailed-metadata on HashiCorp Vault, is 404 with warnings only.
      if (status === 404) return after !== undefined || Array.isArray(body.errors) ? entries : undefined
      if (status !== 200) return undefined
      const keys = keysOf(body)
      const info = ((body.data as {key_info?: unknown}).key_info ?? {}) as Record<string, Record<string, unknown> | undefined>
      for (const name of keys) entries.push(entryOf(name, info[name]))
      if (keys.length < LIST_PAGE) return entries
      after = keys[keys.length - 1]
    }
  }

  /** Whether version `version` holds `data`, waiting briefly for a standby that has not caught up. */
  private async landed(path: string, data: Record<string, unknown>, version: number): Promise<boolean> {
    for (let i = 0; i < CATCH_UP_TRIES; i++) {
      const found = await this.read(path, version)
      if (found) return found.version === version && isDeepStrictEqual(found.data, data)
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_WAIT_MS))
    }
    return false
  }

  private badAnswer(method: string, path: string, what: string): VaultError {
    return new VaultError(
      'refused',
      200,
      `OpenBao/Vault at ${this.client.host} answered ${method} ${this.apiPath('data', path)} with ${what}; is ${this.mount} a KV version 2 mount?`,
    )
  }
}

function entryOf(name: string, info: Record<string, unknown> | undefined): KvEntry {
  if (name.endsWith('/') || !info) return {name, folder: name.endsWith('/')}
  const version = typeof info.current_version === 'number' ? info.current_version : undefined
  const versions = (info.versions ?? {}) as Record<string, {deletion_time?: unknown; destroyed?: unknown} | undefined>
  const current = version === undefined ? undefined : versions[String(version)]
  return {
    name,
    folder: false,
    version,
    updatedTime: typeof info.updated_time === 'string' ? info.updated_time : undefined,
    deleted: Boolean(current && ((typeof current.deletion_time === 'string' && current.deletion_time !== '') || current.destroyed === true)),
    customMetadata: isStrings(info.custom_metadata) ? info.custom_metadata : undefined,
  }
}

const isStrings = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')

function keysOf(body: Record<string, unknown>): string[] {
  const keys = (body.data as {keys?: unknown} | undefined)?.keys
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []
}

/** A list is asked of the folder, with its trailing slash. */
const folderPath = (apiPath: string) => `${apiPath.replace(/\/+$/, '')}/`

/** Each segment encoded; the slashes between them stay. */
const encodePath = (path: string) =>
  path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map(encodeURIComponent)
    .join('/')
