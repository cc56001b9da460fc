// Writes man/mxtok.1 from the command declarations (src/cli/commands) and the exit codes of
// src/errors.ts, so the manual says what this build does. Shipped in the package and linked by npm
// on a global install ("man" in package.json): `man mxtok`.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {commands as declared} from '../src/cli/commands/index.js'
import type {CommandDeclaration, FlagDeclaration} from '../src/cli/declaration.js'
import {ExitCode} from '../src/errors.js'
import {DEFAULT_STORE, STORE_KINDS} from '../src/store/store-kinds.js'

const root = resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string; description: string}

/** Text as roff reads it: backslashes and hyphens escaped, and no line starting with a control character. */
const roff = (text: string) =>
  text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n')
const bold = (text: string) => `\\fB${roff(text)}\\fR`
const bin = (text: string) => text.replace(/<%= config\.bin %>/g, 'mxtok')

const EXIT: Record<keyof typeof ExitCode, string> = {
  ok: 'success',
  unexpected: 'an unexpected error (a bug: MXTOK_DEBUG=1 shows details)',
  usage: 'bad usage or input: an unknown command or flag, a missing argument, an unknown session, an invalid name, user ID or URL',
  loginRefused: 'login refused: wrong user or password, a deactivated account, a browser sign-in refused or expired',
  tokenInvalid: "a session's token is not valid: revoked, of another device, or missing from the store",
  homeserver: 'a homeserver unreachable, or answering something unexpected',
  keychain: 'the secret store cannot be used: keychain missing, locked or not answering',
  store: 'file store passphrase wrong or missing, file damaged',
  config:
    'the registry (sessions.json) or its directory cannot be used: damaged, of an unknown format, writable by other users, or locked by another mxtok for over 15 s; or the device of the session is being logged in to by another run (create or rotate of the same session), which the line names: nothing was sent',
  disk: 'the config directory cannot be written: no space left, a read-only file system, no permission',
  vault:
    'the OpenBao/Vault server (MXTOK_VAULT) cannot be used: sealed, without a leader or unreachable after retrying, refusing the token, or a policy without a capability mxtok needs (the message names the path and the capability)',
  rateLimited: 'a homeserver went on rate-limiting requests past the 180 s mxtok waits in all; try again later',
  commandNotExecutable: 'exec only: the command was found but could not be run',
  commandNotFound: 'exec only: the command was not found',
}

const ENVIRONMENT: [string, string][] = [
  ['MXTOK_CONFIG_DIR', 'the config directory (default $XDG_CONFIG_HOME/mxtok, else ~/.config/mxtok).'],
  ['MXTOK_STORE', `the secret store of new sessions: ${STORE_KINDS.map((k) => (k === DEFAULT_STORE ? `${k} (default)` : k)).join(' or ')}.`],
  ['MXTOK_PASSPHRASE', 'the passphrase of the file store; without it, a prompt on a terminal.'],
  ['MXTOK_PASSWORD', 'the account password for create and prune, when --password-stdin is not given.'],
  ['MXTOK_TIMEOUT', 'seconds a request to a homeserver may take in all (default 30).'],
  ['MXTOK_KEYCHAIN_TIMEOUT', 'seconds a keychain call may take (default 3).'],
  ['MXTOK_ALLOW_HTTP', 'set to 1 to allow plain http:// to a homeserver that is not on loopback, for this run.'],
  ['MXTOK_DEBUG', 'set to 1 to print each request (method, URL, status, time) on standard error; never a token.'],
  ['NO_COLOR', 'plain columns instead of drawn tables, on a terminal too.'],
]

function synopsis(c: CommandDeclaration): string {
  if (c.usage) return `mxtok ${c.usage}`
  const args = Object.entries(c.args).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}${c.variadic ? '...' : ''}]`))
  const required = Object.entries(c.flags)
    .filter(([, f]) => f.required)
    .map(([name]) => `--${name} ${name.toUpperCase()}`)
  return ['mxtok', c.id, ...args, ...required, '[FLAGS]'].join(' ')
}

function flagLines(name: string, f: FlagDeclaration): string[] {
  const value = f.type === 'boolean' ? '' : ` ${f.type === 'string' && f.options ? f.options.join('|') : name.toUpperCase()}`
  const names = [f.char ? `-${f.char}, ` : '', `--${name}`, value].join('')
  const extra = f.type === 'string' ? [f.env ? `(also $${f.env})` : '', f.default !== undefined ? `[default: ${f.default}]` : ''].filter(Boolean).join(' ') : ''
  return ['.TP', bold(names), roff([f.description, extra].filter(Boolean).join(' '))]
}

const commands = [...declared].sort((a, b) => (a.id < b.id ? -1 : 1))
const lines: string[] = [
  `.TH MXTOK 1 "" "mxtok ${pkg.version}" "User Commands"`,
  // Names like MXTOK_PASSWORD and --password-stdin must not be broken across lines.
  '.nh',
  '.ad l',
  '.SH NAME',
  `mxtok \\- ${roff(pkg.description)}`,
  '.SH SYNOPSIS',
  `${bold('mxtok')} \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIFLAGS\\fR]`,
  '.br',
  `${bold('mxtok')} \\fICOMMAND\\fR ${bold('--help')}`,
  '.SH DESCRIPTION',
  roff(
    'mxtok makes a Matrix access token a named session: created with a deterministic device ID, so that re-creating it reuses its device; kept in the OS keychain (or an encrypted file), never in a plaintext file; checked with GET /account/whoami and revoked for real with POST /logout.',
  ),
  '.PP',
  roff(
    'No command but "mxtok token" prints a token, and no flag takes a secret as its value. Everything mxtok shows from a server is made inert: control characters are shown as escapes, never obeyed.',
  ),
  '.PP',
  roff(
    'Global flags: --json prints the result (or the error) as JSON on standard output, on the commands that have it; --verbose prints each request on standard error.',
  ),
  '.SH COMMANDS',
]
for (const c of commands) {
  lines.push('.SS', bold(synopsis(c)), roff(bin(c.summary ?? '')))
  if (c.description) lines.push('.PP', roff(bin(c.description)))
  for (const [name, a] of Object.entries(c.args)) lines.push('.TP', `\\fI${name.toUpperCase()}\\fR`, roff(a.description))
  for (const [name, f] of Object.entries(c.flags)) lines.push(...flagLines(name, f))
  const examples = c.examples.map(bin)
  if (examples.length > 0) lines.push('.PP', 'Examples:', '.PP', '.RS 4', '.nf', ...examples.map(roff), '.fi', '.RE')
}
lines.push('.SH EXIT STATUS', roff('The same with and without --json.'))
// Kinds that share a code (the keychain's and any other store's) are one entry.
const byCode = new Map<number, string[]>()
for (const [kind, code] of Object.entries(ExitCode)) byCode.set(code, [...(byCode.get(code) ?? []), EXIT[kind as keyof typeof ExitCode]])
for (const [code, texts] of byCode) lines.push('.TP', bold(String(code)), roff(texts.join('; ')))
lines.push('.SH ENVIRONMENT')
for (const [name, what] of ENVIRONMENT) lines.push('.TP', bold(name), roff(what))
lines.push(
  '.SH FILES',
  '.TP',
  bold('~/.config/mxtok/sessions.json'),
  roff(
    'the registry: names, user IDs, homeserver URLs and device IDs of the sessions, never a token (the directory is $MXTOK_CONFIG_DIR when set, else $XDG_CONFIG_HOME/mxtok; ~/.config/mxtok on macOS and Windows too).',
  ),
  '.TP',
  bold('~/.config/mxtok/secrets.enc'),
  roff('the file store, when used: tokens encrypted with a key derived from MXTOK_PASSPHRASE.'),
  '.PP',
  roff(
    'The keychain store keeps each token as an item of service "mxtok" and account "USER/DEVICE": in the Secret Service on Linux (secret-tool search --all service mxtok), the Keychain on macOS, the Credential Manager on Windows.',
  ),
  '.SH SEE ALSO',
  roff('mxtok COMMAND --help; the README of the package.'),
)
mkdirSync(join(root, 'man'), {recursive: true})
writeFileSync(join(root, 'man/mxtok.1'), `${lines.join('\n')}\n`)
