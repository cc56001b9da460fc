// https://localhost/.well-known/matrix/client on port 443, with a certificate from a throwaway CA:
// client discovery exactly as a real user ID ending in ":localhost" makes mxtok do it. mxtok trusts
// the CA only where a test passes NODE_EXTRA_CA_CERTS.
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)

export interface WellKnownServer {
  /** PEM of the throwaway CA, for NODE_EXTRA_CA_CERTS. */
  caFile: string
  /** The host a user ID's server name must be for discovery to land here. */
  serverName: string
  stop(): Promise<void>
}

const PORT = 443
const HOST = 'localhost'

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, {cwd})
  } catch (error) {
    const e = error as {code?: string; stderr?: string}
    if (e.code === 'ENOENT') throw new Error('openssl not found: the TLS discovery tests need it to make a throwaway CA (Debian: apt-get install openssl)')
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? String(error)}`)
  }
}

/** A CA and a certificate for localhost and 127.0.0.1 signed by it, valid for a day. */
async function makeCertificates(dir: string): Promise<{ca: string; key: string; cert: string}> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=mxtok test CA (throwaway)',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ],
    dir,
  )
  await openssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${HOST}`], dir)
  await writeFile(join(dir, 'server.ext'), `subjectAltName=DNS:${HOST},IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext'],
    dir,
  )
  const [key, cert] = await Promise.all([readFile(join(dir, 'server.key'), 'utf8'), readFile(join(dir, 'server.pem'), 'utf8')])
  return {ca: join(dir, 'ca.pem'), key, cert}
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(PORT, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** How long a run waits for another run on this machine to give the port back. */
const PORT_WAIT_MS = 240_000

/**
 * Port 443 is one for the whole machine: a second test run waits for the first to release it
 * (saying so once) rather than fail, so that runs on one machine queue instead of colliding.
 */
async function listenWaiting(server: Server): Promise<void> {
  const deadline = Date.now() + PORT_WAIT_MS
  for (let said = false; ; said = true) {
    try {
      return await listen(server, '127.0.0.1')
    } catch (error) {
      if ((error as {code?: string}).code !== 'EADDRINUSE' || Date.now() > deadline) throw listenError(error)
      if (!said) process.stderr.write(`127.0.0.1:${PORT} is taken (another test run?); waiting up to ${PORT_WAIT_MS / 1000} s for it\n`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}

function listenError(error: unknown): Error {
  const code = (error as {code?: string}).code
  if (code === 'EACCES')
    return new Error(`cannot listen on 127.0.0.1:${PORT} for the TLS discovery tests: binding a port below 1024 needs root (or CAP_NET_BIND_SERVICE for node)`)
  if (code === 'EADDRINUSE')
    return new Error(`cannot listen on 127.0.0.1:${PORT} for the TLS discovery tests: something else holds the port (another test run?)`)
  return error as Error
}

/** Serves `{"m.homeserver": {"base_url": homeserver}}` at https://localhost/.well-known/matrix/client. */
export async function startWellKnown(homeserver: string): Promise<WellKnownServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mxtok-tls-'))
  const servers: Server[] = []
  try {
    const {ca, key, cert} = await makeCertificates(dir)
    const body = JSON.stringify({'m.homeserver': {base_url: homeserver}})
    const handler: Parameters<typeof createServer>[1] = (req, res) => {
      if (req.method === 'GET' && req.url === '/.well-known/matrix/client') {
        res.writeHead(200, {'content-type': 'application/json', 'access-control-allow-origin': '*'}).end(body)
      } else res.writeHead(404, {'content-type': 'application/json'}).end('{"errcode":"M_NOT_FOUND","error":"Not found"}')
    }
    const v4 = createServer({key, cert}, handler)
    servers.push(v4)
    await listenWaiting(v4)
    // Where localhost also resolves to ::1, a client may try that first.
    const v6 = createServer({key, cert}, handler)
    await listen(v6, '::1').then(
      () => servers.push(v6),
      () => undefined,
    )
    return {
      caFile: ca,
      serverName: HOST,
      async stop() {
        await Promise.all(servers.map(close))
        await rm(dir, {recursive: true, force: true})
      },
    }
  } catch (error) {
    await Promise.all(servers.map(close))
    await rm(dir, {recursive: true, force: true})
    throw error
  }
}
