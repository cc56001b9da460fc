// A standards OAuth 2.0 provider (oidc-provider, pinned in package.json) standing in for the
// Matrix Authentication Service in front of a Synapse in its MAS mode. MAS cannot be installed
// here; what Synapse and mxtok need of it is adapted below, and nothing else:
// - introspection at MAS's fixed path, authenticated by a Bearer secret (Synapse's way, not a
//   standard client authentication), answering `username` and `expires_in` as MAS does;
// - the Matrix scopes, served as the scopes of one resource server: oidc-provider 9 silently drops
//   scopes it does not know, and device scopes cannot be listed in advance;
// - refresh tokens without offline_access, and client registration without redirect URIs (the
//   device grant needs none);
// - users and devices provisioned on Synapse when tokens are issued, and a device deleted once no
//   grant holds it any more (MAS does both through /_synapse/mas/*);
// - a revoked token ends its whole grant, as a revoked MAS session does.
// Where it still differs from MAS (field.md): no compatibility sessions, a reused refresh token
// ends the grant, and the old access token lives on after a refresh.
import {generateKeyPairSync, randomBytes, timingSafeEqual} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import Provider, {type Configuration, type KoaContextWithOIDC} from 'oidc-provider'

/** The one resource server: the Matrix client-server API of the homeserver. */
const MATRIX_RESOURCE = 'urn:matrix:client'
const API_SCOPE = 'urn:matrix:client:api:*'
// MAS accepts device IDs of 10 characters or more in a device scope.
const DEVICE_SCOPE = /^urn:matrix:client:device:([A-Za-z0-9._~-]{10,255})$/
const DEFAULT_ACCESS_TTL_S = 300
/** What this stand-in answers a device authorization with; MAS says 5 s, which would make every create in the tests wait that long. */
const POLL_INTERVAL_S = 1

/** Where tests reach the stand-in's own controls (users, killing a token): Bearer the secret. */
export const CONTROL_PREFIX = '/_mxtok-test'

export interface Account {
  password: string
  /** Access token lifetime in seconds for this account's tokens. */
  accessTokenTtl: number
}

export interface OidcMas {
  issuer: string
  /** Shared with Synapse: it authenticates introspection and the /_synapse/mas/* calls. */
  secret: string
  /** Set once the homeserver is up: its URL is known only after this provider's. */
  setHomeserver(baseUrl: string): void
  close(): Promise<void>
}

const matrixScopes = (scope: string | undefined) => (scope ?? '').split(' ').filter((s) => s === API_SCOPE || DEVICE_SCOPE.test(s))
const deviceOf = (scope: string | undefined) =>
  (scope ?? '')
    .split(' ')
    .map((s) => DEVICE_SCOPE.exec(s)?.[1])
    .find((d) => d !== undefined)

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const html = (title: string, body: string) =>
  `<!DOCTYPE html><html><head><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, {'Content-Type': 'text/html; charset=utf-8'})
  res.end(html(title, body))
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'Content-Type': 'application/json'})
  res.end(JSON.stringify(body))
}

export async function startOidcMas(): Promise<OidcMas> {
  const secret = randomBytes(24).toString('hex')
  const accounts = new Map<string, Account>()
  /** Grants holding each device, by "localpart/device": the device goes once none is left. */
  const holders = new Map<string, Set<string>>()
  let homeserver: string | undefined

  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const synapseMas = async (path: string, body: unknown) => {
    if (homeserver === undefined) throw new Error('the homeserver is not up yet')
    const res = await fetch(`${homeserver}/_synapse/mas/${path}`, {
      method: 'POST',
      headers: {Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json'},
      body: JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`POST /_synapse/mas/${path}: ${res.status} ${await res.text()}`)
  }

  const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
  const configuration: Configuration = {
    clients: [
      {client_id: 'synapse', client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: [], response_types: [], redirect_uris: []},
    ],
    clientDefaults: {grant_types: [], response_types: [], token_endpoint_auth_method: 'none'},
    jwks: {keys: [{...privateKey.export({format: 'jwk'}), kid: 'stand-in', use: 'sig', alg: 'RS256'} as never]},
    cookies: {keys: [randomBytes(16).toString('hex')]},
    findAccount: async (_ctx, id) => (accounts.has(id) ? {accountId: id, claims: async () => ({sub: id})} : undefined),
    discovery: {account_management_uri: `${issuer}/account`},
    routes: {
      token: '/oauth2/token',
      introspection: '/oauth2/introspect',
      revocation: '/oauth2/revoke',
      registration: '/oauth2/registration',
      device_authorization: '/oauth2/device',
      code_verification: '/link',
    },
    features: {
      devInteractions: {enabled: false},
      deviceFlow: {
        enabled: true,
        // Plain pages around the forms oidc-provider builds, which carry its anti-forgery token.
        userCodeInputSource: async (ctx, form) =>
          void (ctx.body = html('Enter the code', `${form}<button type="submit" form="op.deviceInputForm">Continue</button>`)),
        userCodeConfirmSource: async (ctx, form, client, _info, userCode) =>
          void (ctx.body = html(
            'Confirm the code',
            `<p>${escapeHtml(client.clientName ?? client.clientId)} shows the code <code>${escapeHtml(userCode)}</code>.</p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button><button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
          )),
        successSource: async (ctx) => void (ctx.body = html('Sign-in Success', '<p>You may close this page.</p>')),
      },
      // Only Synapse, with the shared secret, may ask: as with MAS.
      introspection: {enabled: true, allowedPolicy: async (_ctx, client) => client.clientId === 'synapse'},
      // A public client revokes its own tokens only; the default says so too, with a notice at each use.
      revocation: {enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId},
      registration: {enabled: true},
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => MATRIX_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx) => {
          const e = ctx.oidc.entities
          // The scopes this request may carry: those asked for now, or those of the code or refresh token it redeems.
          const asked = [ctx.oidc.params?.scope, e.DeviceCode?.scope, e.RefreshToken?.scope]
            .map((s) => matrixScopes(s as string | undefined).join(' '))
            .join(' ')
          const account = accounts.get(e.Account?.accountId ?? '')
          return {
            scope: [API_SCOPE, ...matrixScopes(asked)].join(' '),
            accessTokenFormat: 'opaque',
            accessTokenTTL: account?.accessTokenTtl ?? DEFAULT_ACCESS_TTL_S,
          }
        },
      },
    },
    ttl: {
      DeviceCode: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 86_400,
      RefreshToken: 86_400,
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_ACCESS_TTL_S,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // MAS ends the session behind a token revoked at its revocation endpoint, whichever token it is.
    revokeGrantPolicy: () => true,
    interactions: {url: async (_ctx, interaction) => `/interaction/${interaction.uid}`},
  }
  const provider = new Provider(issuer, configuration)
  provider.proxy = false

  const deviceKey = (localpart: string, device: string) => `${localpart}/${device}`
  const endDeviceIfUnheld = async (localpart: string, device: string) => {
    const key = deviceKey(localpart, device)
    const held = holders.get(key) ?? new Set()
    for (const grantId of held) if (!(await provider.Grant.find(grantId))) held.delete(grantId)
    if (held.size === 0) {
      holders.delete(key)
      await synapseMas('delete_device', {localpart, device_id: device})
    }
  }

  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    await next()
    const route = ctx.oidc?.route
    const body = ctx.body as Record<string, unknown> | undefined
    if (route === 'device_authorization' && ctx.status === 200 && body) body.interval = POLL_INTERVAL_S
    if (route === 'introspection' && body?.active === true) {
      body.username = body.sub
      body.expires_in = Math.max(0, (body.exp as number) - Math.floor(Date.now() / 1000))
    }
    if (route === 'token' && ctx.status === 200 && body?.access_token) {
      // MAS creates the user and the device on the homeserver before the token leaves it.
      const at = ctx.oidc.entities.AccessToken
      const device = deviceOf(at?.scope)
      if (at && device) {
        await synapseMas('provision_user', {localpart: at.accountId})
        await synapseMas('upsert_device', {localpart: at.accountId, device_id: device})
        const key = deviceKey(at.accountId, device)
        holders.set(key, (holders.get(key) ?? new Set()).add(at.grantId!))
      }
    }
    if (route === 'revocation') {
      const token = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.RefreshToken
      const device = deviceOf(token?.scope)
      if (token?.accountId && device) await endDeviceIfUnheld(token.accountId, device)
    }
  })

  const callback = provider.callback()
  const bearerOk = (req: IncomingMessage) => {
    const given = Buffer.from(req.headers.authorization ?? '')
    const want = Buffer.from(`Bearer ${secret}`)
    return given.length === want.length && timingSafeEqual(given, want)
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]
    const handled = path.startsWith('/interaction/') ? interaction(req, res, path) : path.startsWith(`${CONTROL_PREFIX}/`) ? control(req, res, path) : undefined
    if (handled) {
      handled.catch((error: Error) => {
        if (!res.headersSent) json(res, 500, {error: 'server_error', error_description: error.message})
        else res.destroy()
      })
      return
    }
    // Synapse authenticates introspection with the shared secret as a Bearer token; oidc-provider
    // knows it as the secret of the client "synapse".
    if (path === '/oauth2/introspect' && bearerOk(req)) req.headers.authorization = `Basic ${Buffer.from(`synapse:${secret}`).toString('base64')}`
    callback(req, res)
  })

  /** The sign-in and consent pages a browser is sent to: plain forms. */
  async function interaction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const details = await provider.interactionDetails(req, res)
    const action = `/interaction/${details.uid}`
    if (req.method === 'GET') {
      if (details.prompt.name === 'login') return loginPage(res, action, '')
      const client = await provider.Client.find(String(details.params.client_id))
      return page(
        res,
        200,
        'Allow access',
        `<p>${escapeHtml(client?.clientName ?? 'A client')} asks for ${escapeHtml(String(details.params.scope ?? ''))}, signed in as ${escapeHtml(details.session?.accountId ?? '')}.</p><form method="post" action="${action}/consent"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>`,
      )
    }
    const form = new URLSearchParams(await readBody(req))
    if (path === `${action}/login`) {
      const username = form.get('username') ?? ''
      const account = accounts.get(username)
      if (!account || account.password !== form.get('password')) return loginPage(res, action, 'Wrong user name or password.')
      await provider.interactionFinished(req, res, {login: {accountId: username}}, {mergeWithLastSubmission: false})
      return
    }
    if (path === `${action}/consent`) {
      if (form.get('decision') !== 'allow') {
        await provider.interactionFinished(
          req,
          res,
          {error: 'access_denied', error_description: 'The user refused the sign-in'},
          {mergeWithLastSubmission: false},
        )
        return
      }
      const {accountId} = details.session!
      const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({accountId, clientId: String(details.params.client_id)})
      const missing = details.prompt.details as {missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]>}
      if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '))
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant!.addResourceScope(resource, scopes.join(' '))
      const grantId = await grant!.save()
      await provider.interactionFinished(req, res, {consent: {grantId}}, {mergeWithLastSubmission: true})
      return
    }
    page(res, 404, 'Not found', '')
  }

  function loginPage(res: ServerResponse, action: string, error: string): void {
    page(
      res,
      200,
      'Sign in',
      `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}<form method="post" action="${action}/login"><input type="text" name="username"><input type="password" name="password"><button type="submit">Sign in</button></form>`,
    )
  }

  /** What tests do to the stand-in that a real MAS does through its admin pages or its database. */
  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!bearerOk(req)) return json(res, 401, {error: 'unauthorized'})
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>
    const [, , what, arg] = path.split('/')
    if (req.method === 'PUT' && what === 'accounts' && arg) {
      accounts.set(decodeURIComponent(arg), {password: String(body.password), accessTokenTtl: Number(body.accessTokenTtl ?? DEFAULT_ACCESS_TTL_S)})
      return json(res, 200, {})
    }
    if (req.method === 'POST' && what === 'kill-access-token') {
      // An access token that died before its time, its grant intact: what an expiry looks like
      // to a client whose clock or cache is behind.
      const token = await provider.AccessToken.find(String(body.token))
      await token?.destroy()
      return json(res, 200, {killed: token !== undefined})
    }
    if (req.method === 'POST' && what === 'forget-client') {
      // A client the issuer no longer knows: deleted by its admin, or lost with its database.
      const client = await provider.Client.find(String(body.client_id))
      if (client) await (provider.Client as unknown as {adapter: {destroy(id: string): Promise<void>}}).adapter.destroy(client.clientId)
      return json(res, 200, {forgotten: client !== undefined})
    }
    json(res, 404, {error: 'not_found'})
  }

  return {
    issuer,
    secret,
    setHomeserver(baseUrl) {
      homeserver = baseUrl
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
