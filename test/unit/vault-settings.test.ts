import {chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {MxtokError} from '../../src/errors.js'
import {parseVaultLocation} from '../../src/vault/location.js'
import {baoVariable, DEFAULT_ADDRESS, readVaultSettings} from '../../src/vault/settings.js'
import {findToken, tokenHelperSetting} from '../../src/vault/token-source.js'

const CERT = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----\n`
const dir = () => mkdtempSync(join(tmpdir(), 'mxtok-vault-env-'))
const ADDRESS = new URL('https://vault.example:8200')

function usage(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(MxtokError)
    expect((error as MxtokError).kind).toBe('usage')
    return (error as Error).message
  }
  return expect.unreachable('expected a usage error')
}

describe('the bao/vault CLI variables', () => {
  it('BAO_* wins over VAULT_*, even set to the empty string, as OpenBao reads them', () => {
    expect(baoVariable({BAO_ADDR: 'https://a', VAULT_ADDR: 'https://b'}, 'ADDR')).toBe('https://a')
    expect(baoVariable({VAULT_ADDR: 'https://b'}, 'ADDR')).toBe('https://b')
    expect(baoVariable({BAO_ADDR: '', VAULT_ADDR: 'https://b'}, 'ADDR')).toBe('')
    expect(readVaultSettings({BAO_ADDR: '', VAULT_ADDR: 'https://b:1'}).address.href).toBe(`${DEFAULT_ADDRESS}/`)
  })

  it('the address: BAO_AGENT_ADDR before BAO_ADDR, the CLI default without either, a path prefix kept', () => {
    expect(readVaultSettings({}).address.href).toBe('https://127.0.0.1:8200/')
    expect(readVaultSettings({VAULT_ADDR: 'https://v:8200', BAO_AGENT_ADDR: 'http://127.0.0.1:8100'}).address.href).toBe('http://127.0.0.1:8100/')
    expect(readVaultSettings({BAO_ADDR: 'https://proxy.example/vault/'}).address.pathname).toBe('/vault')
  })

  it('refuses an address that is not http(s), or carries credentials', () => {
    expect(usage(() => readVaultSettings({BAO_ADDR: 'unix:///run/bao.sock'}))).toMatch(/unix sockets are not supported/)
    expect(usage(() => readVaultSettings({BAO_ADDR: 'vault.example:8200x'}))).toMatch(/https:\/\/ or http:\/\//)
    expect(usage(() => readVaultSettings({BAO_ADDR: 'https://u:p@vault.example'}))).toMatch(/without a query, a fragment or credentials/)
  })

  it('the namespace, and no TLS settings at all by default', () => {
    expect(readVaultSettings({VAULT_NAMESPACE: 'team/ops'})).toMatchObject({namespace: 'team/ops', tls: undefined})
    expect(readVaultSettings({BAO_NAMESPACE: '', VAULT_NAMESPACE: 'x'}).namespace).toBeUndefined()
  })

  it('BAO_CACERT replaces the roots with its certificates, before BAO_CAPATH, which is walked', () => {
    const d = dir()
    writeFileSync(join(d, 'ca.pem'), `${CERT(1)}${CERT(2)}`)
    mkdirSync(join(d, 'path', 'sub'), {recursive: true})
    writeFileSync(join(d, 'path', 'a.pem'), CERT(3))
    writeFileSync(join(d, 'path', 'sub', 'b.pem'), CERT(4))
    expect(readVaultSettings({BAO_CACERT: join(d, 'ca.pem'), BAO_CAPATH: join(d, 'path')}).tls?.ca).toEqual([CERT(1).trim(), CERT(2).trim()])
    expect(readVaultSettings({VAULT_CAPATH: join(d, 'path')}).tls?.ca?.sort()).toEqual([CERT(3).trim(), CERT(4).trim()])
    writeFileSync(join(d, 'empty.pem'), 'not a certificate')
    expect(usage(() => readVaultSettings({BAO_CACERT: join(d, 'empty.pem')}))).toMatch(
      /empty\.pem, named by BAO_CACERT \(or VAULT_CACERT\), holds no PEM certificate/,
    )
    expect(usage(() => readVaultSettings({BAO_CACERT: join(d, 'missing.pem')}))).toMatch(/cannot read .*missing\.pem, named by BAO_CACERT .*ENOENT/)
  })

  it('a client certificate needs its key; server name and skip-verify as Go parses them', () => {
    const d = dir()
    writeFileSync(join(d, 'c.pem'), CERT(5))
    writeFileSync(join(d, 'k.pem'), 'KEY')
    expect(readVaultSettings({BAO_CLIENT_CERT: join(d, 'c.pem'), VAULT_CLIENT_KEY: join(d, 'k.pem')}).tls).toEqual({cert: CERT(5), key: 'KEY'})
    expect(usage(() => readVaultSettings({BAO_CLIENT_CERT: join(d, 'c.pem')}))).toMatch(/BAO_CLIENT_CERT is set without BAO_CLIENT_KEY/)
    expect(readVaultSettings({BAO_TLS_SERVER_NAME: 'vault.internal', BAO_SKIP_VERIFY: 'T'}).tls).toEqual({
      servername: 'vault.internal',
      rejectUnauthorized: false,
    })
    expect(readVaultSettings({BAO_SKIP_VERIFY: 'false'}).tls).toBeUndefined()
    expect(usage(() => readVaultSettings({VAULT_SKIP_VERIFY: 'yes'}))).toMatch(/neither true nor false/)
  })
})

describe('the token, found as the CLIs find theirs', () => {
  /** A token helper that prints a token and records its arguments and environment. */
  function helper(home: string, token: string, name = 'helper.sh'): string {
    const path = join(home, name)
    writeFileSync(path, `#!/bin/sh\necho "$@" > "${home}/helper-args"\nenv > "${home}/helper-env"\nprintf '%s\\n' '${token}'\n`)
    chmodSync(path, 0o755)
    return path
  }

  it('BAO_TOKEN, then VAULT_TOKEN; an empty BAO_TOKEN hides VAULT_TOKEN as in OpenBao', async () => {
    const home = dir()
    expect(await findToken({HOME: home, BAO_TOKEN: 'b', VAULT_TOKEN: 'v'}, ADDRESS)).toEqual({token: 'b', origin: 'BAO_TOKEN'})
    expect(await findToken({HOME: home, VAULT_TOKEN: 'v'}, ADDRESS)).toEqual({token: 'v', origin: 'VAULT_TOKEN'})
    expect(await findToken({HOME: home, BAO_TOKEN: '', VAULT_TOKEN: 'v'}, ADDRESS)).toBeUndefined()
  })

  it('then ~/.vault-token (or BAO_TOKEN_PATH), trimmed; nothing at all is undefined', async () => {
    const home = dir()
    expect(await findToken({HOME: home}, ADDRESS)).toBeUndefined()
    writeFileSync(join(home, '.vault-token'), 's.file\n')
    expect(await findToken({HOME: home}, ADDRESS)).toEqual({token: 's.file', origin: `token file ${join(home, '.vault-token')}`})
    writeFileSync(join(home, 'other'), 's.other')
    expect(await findToken({HOME: home, VAULT_TOKEN_PATH: join(home, 'other')}, ADDRESS)).toMatchObject({token: 's.other'})
  })

  it('a token helper in ~/.bao (else ~/.vault) wins over the file: run with get, the address in its environment, none of mxtok’s variables', async () => {
    const home = dir()
    writeFileSync(join(home, '.vault-token'), 's.file')
    writeFileSync(join(home, '.vault'), `token_helper = "${helper(home, 's.vault')}"\n`)
    expect(await findToken({HOME: home, PATH: process.env.PATH}, ADDRESS)).toMatchObject({token: 's.vault'})
    writeFileSync(join(home, '.bao'), `# the bao CLI's\ntoken_helper = "${helper(home, 's.helper', 'bao-helper.sh')}"\n`)
    const found = await findToken({HOME: home, PATH: process.env.PATH, MXTOK_PASSPHRASE: 'never-seen', MXTOK_PASSWORD: 'nor-this'}, ADDRESS)
    expect(found).toEqual({token: 's.helper', origin: `token helper ${join(home, 'bao-helper.sh')}`})
    expect(readFileSync(join(home, 'helper-args'), 'utf8')).toBe('get\n')
    const env = readFileSync(join(home, 'helper-env'), 'utf8')
    expect(env).toContain('BAO_ADDR=https://vault.example:8200\n')
    expect(env).toContain('VAULT_ADDR=https://vault.example:8200\n')
    expect(env).not.toMatch(/MXTOK_|never-seen|nor-this/)
  })

  it('BAO_CONFIG_PATH names the config; a relative helper path is from the working directory and must exist', async () => {
    const home = dir()
    const config = join(home, 'cli.json')
    writeFileSync(config, `{"token_helper": "${helper(home, 's.json')}"}`)
    expect(await findToken({HOME: home, PATH: process.env.PATH, BAO_CONFIG_PATH: config}, ADDRESS)).toMatchObject({token: 's.json'})
    writeFileSync(config, 'token_helper = "./no-such-helper"\n')
    await expect(findToken({HOME: home, BAO_CONFIG_PATH: config}, ADDRESS)).rejects.toThrow(
      `the token helper ${join(process.cwd(), 'no-such-helper')}, named in ${config}, does not exist; fix token_helper there, or set BAO_TOKEN`,
    )
  })

  it('a failing helper is a one-line error with the first line it said', async () => {
    const home = dir()
    const path = join(home, 'fails.sh')
    writeFileSync(path, '#!/bin/sh\necho "keyring locked" >&2\necho "second line" >&2\nexit 3\n')
    chmodSync(path, 0o755)
    writeFileSync(join(home, '.bao'), `token_helper = "${path}"`)
    await expect(findToken({HOME: home, PATH: process.env.PATH}, ADDRESS)).rejects.toThrow(
      `the token helper ${path} failed (3): keyring locked; fix it, or set BAO_TOKEN`,
    )
  })

  it('refuses a token with a control character, without showing it', async () => {
    const error = await findToken({BAO_TOKEN: 's.secret\r\nX-Injected: 1'}, ADDRESS).catch((e: Error) => e)
    expect((error as Error).message).toBe('the token from BAO_TOKEN contains a control character; set it again')
  })

  it('token_helper in the forms the CLIs accept', () => {
    expect(tokenHelperSetting('token_helper = "/usr/local/bin/h"')).toBe('/usr/local/bin/h')
    expect(tokenHelperSetting('  token_helper="/a b/h --flag"\n')).toBe('/a b/h --flag')
    expect(tokenHelperSetting('{\n  "token_helper": "/j"\n}')).toBe('/j')
    expect(tokenHelperSetting('# token_helper = "/commented"\n')).toBeUndefined()
    expect(tokenHelperSetting('')).toBeUndefined()
  })
})

describe('MXTOK_VAULT', () => {
  it('is MOUNT/PREFIX: the first segment the mount, the rest the folder', () => {
    expect(parseVaultLocation('secret/mxtok')).toEqual({mount: 'secret', prefix: 'mxtok'})
    expect(parseVaultLocation('/kv/teams/ops/mxtok/')).toEqual({mount: 'kv', prefix: 'teams/ops/mxtok'})
    for (const bad of ['secret', '', 'secret//mxtok', 'secret/../x', 'secret/a b']) {
      expect(usage(() => parseVaultLocation(bad))).toMatch(
        /is not a MOUNT\/PREFIX for OpenBao\/Vault; give the KV version 2 mount and a folder in it, e.g. secret\/mxtok/,
      )
    }
  })
})
