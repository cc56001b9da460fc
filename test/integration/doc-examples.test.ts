// The docs cannot rot: every shell example marked runnable in README.md and docs/ runs against the
// test Synapse, and every relative link leads to a file and heading that exist.
//
// An example is runnable when the line before its ```sh fence is `<!-- runnable -->`. The examples
// of one page run in order, each as its own `bash -euo pipefail` script, sharing a fresh home and
// config directory, with `mxtok` on PATH the built bin/run.cjs, a user registered for the page, and
// the placeholders below replaced. docs/contributing-docs.md says the same for those who write docs.
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {BIN, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {registerUser} from '../support/synapse.js'

const root = resolve(import.meta.dirname, '../..')
const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')

const MARK = '<!-- runnable -->'
const PAGES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
]

interface Example {
  page: string
  /** The line of the example's opening fence, counting from 1. */
  line: number
  script: string
}

/** A page's runnable examples, and the marks that are not followed by a shell block. */
function runnableExamples(page: string): {examples: Example[]; misplaced: string[]} {
  const lines = readFileSync(join(root, page), 'utf8').split('\n')
  const examples: Example[] = []
  const misplaced: string[] = []
  // A mark inside a code block is shown, not meant (docs/contributing-docs.md shows one).
  let fence: string | undefined
  lines.forEach((text, i) => {
    const opens = /^(`{3,}|~{3,})/.exec(text)?.[1]
    if (fence === undefined && opens) fence = opens
    else if (fence !== undefined && text.trimEnd() === fence) fence = undefined
    if (fence !== undefined || text.trim() !== MARK) return
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? '')) {
      misplaced.push(`${page}:${i + 1}: ${MARK} must be followed at once by a \`\`\`sh block`)
      return
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'))
    if (end === -1) misplaced.push(`${page}:${i + 2}: the block is never closed`)
    else examples.push({page, line: i + 2, script: lines.slice(i + 2, end).join('\n')})
  })
  return {examples, misplaced}
}

interface Page {
  userId: string
  password: string
  home: string
  work: string
  bin: string
  textfileDir: string
}

/** The placeholders of the docs, and what stands for them here (docs/contributing-docs.md has the same table). */
function substitute(script: string, p: Page): string {
  const table: [string, string][] = [
    ['@bot.mjolnir:example.com', p.userId],
    ['@bot:example.com', p.userId],
    ['https://matrix.example.com', synapse.baseUrl],
    ['./run-bot', 'run-bot'],
    ['/var/lib/node_exporter/textfile_collector', p.textfileDir],
  ]
  return table.reduce((s, [from, to]) => s.split(from).join(to), script)
}

/** `mxtok`, and stand-ins for the reader's own programs, on the examples' PATH. */
function writeBin(dir: string): void {
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    chmodSync(join(dir, name), 0o755)
  }
  write('mxtok', `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`)
  // A bot that does what a bot first does with its token: asks the server who it is.
  write(
    'run-bot',
    `#!${process.execPath}
const token = process.env.MATRIX_ACCESS_TOKEN
const homeserver = process.env.MATRIX_HOMESERVER_URL || ${JSON.stringify(synapse.baseUrl)}
if (!token) {
  console.error('run-bot: no MATRIX_ACCESS_TOKEN in the environment')
  process.exit(1)
}
fetch(homeserver + '/_matrix/client/v3/account/whoami', {headers: {Authorization: 'Bearer ' + token}}).then(async (r) => {
  const body = await r.json()
  if (!r.ok) {
    console.error('run-bot: whoami answered ' + r.status + ' ' + body.errcode)
    process.exit(1)
  }
  console.log('run-bot: running as ' + body.user_id)
})
`,
  )
  write('notify-admin', '#!/bin/sh\necho "notify-admin: $*"\n')
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runScript(script: string, p: Page): Promise<Run> {
  const env = {
    ...keyringEnv,
    PATH: `${p.bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: p.home,
    LANG: 'C.UTF-8',
    TMPDIR: p.work,
    BOT_PASSWORD: p.password,
  }
  // The trap names the script's line that failed; it shares line 1 with the example's first line.
  const traced = `trap 'echo "doc-example: line $LINENO failed" >&2' ERR; ${script}`
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', traced], {cwd: p.work, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.on('error', fail)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({code, stdout, stderr})
    })
  })
}

/** What a failure may show: no password, no token. */
const blot = (text: string, p: Page) =>
  text
    .split(p.password)
    .join('<password>')
    .replace(/syt_[A-Za-z0-9_]+/g, '<token>')

const parsed = PAGES.map(runnableExamples)

describe('runnable examples', () => {
  it('each mark is followed by a shell block', () => {
    expect(parsed.flatMap((p) => p.misplaced)).toEqual([])
  })

  it('the five-minute start and the scripting page are runnable', () => {
    const count = (page: string) => parsed[PAGES.indexOf(page)].examples.length
    expect(count('README.md')).toBeGreaterThanOrEqual(4)
    expect(count('docs/scripting.md')).toBeGreaterThanOrEqual(5)
  })

  const withExamples = parsed.filter((p) => p.examples.length > 0)
  describe.each(withExamples.map((p, i) => ({page: p.examples[0].page, examples: p.examples, i})))('$page', ({examples, i}) => {
    let page: Page
    beforeAll(async () => {
      const password = `doc example password ${process.pid} ${i}`
      const dir = tempDir('mxtok-docs-')
      page = {
        userId: await registerUser(synapse, `docs${process.pid}p${i}`, password),
        password,
        home: join(dir, 'home'),
        work: join(dir, 'work'),
        bin: join(dir, 'bin'),
        textfileDir: join(dir, 'textfile_collector'),
      }
      for (const d of [page.home, page.work, page.bin, page.textfileDir]) mkdirSync(d, {mode: 0o700})
      writeBin(page.bin)
    })

    for (const example of examples) {
      it(`${example.page}:${example.line}`, async () => {
        const script = substitute(example.script, page)
        const unknown = script.match(/https?:\/\/[^\s'"]*example\.com\S*/)
        if (unknown)
          throw new Error(
            `${example.page}:${example.line}: ${unknown[0]} is no placeholder the test knows: add it to the table in test/integration/doc-examples.test.ts and docs/contributing-docs.md`,
          )
        const r = await runScript(script, page)
        expect(r.stderr, 'standard error shows the password').not.toContain(page.password)
        expect(r.stdout, 'standard output shows the password').not.toContain(page.password)
        expect(r.stderr, 'standard error shows a token').not.toMatch(/syt_/)
        if (r.code !== 0) {
          const failed = Number(/doc-example: line (\d+) failed/.exec(r.stderr)?.[1] ?? 1)
          throw new Error(
            `${example.page}:${example.line + failed}: the example exited ${r.code}\n${example.script}\n--- stdout\n${blot(r.stdout, page)}--- stderr\n${blot(r.stderr, page)}`,
          )
        }
      })
    }
  })
})

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')

/** The text of a page outside code: links and headings in code blocks or spans are no links or headings. */
const prose = (text: string) => text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const [, heading] of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = anchor(heading)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

describe('links', () => {
  it('every relative link in README.md and docs/ leads to an existing file, and heading', () => {
    const broken: string[] = []
    for (const page of PAGES) {
      const from = join(root, page)
      for (const [, target] of prose(readFileSync(from, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
        const [path, fragment] = target.split('#')
        const file = path === '' ? from : resolve(dirname(from), path)
        if (!existsSync(file)) broken.push(`${page}: ${target}: no such file`)
        else if (fragment !== undefined && file.endsWith('.md') && !anchors(file).has(fragment)) broken.push(`${page}: ${target}: no such heading`)
      }
    }
    expect(broken).toEqual([])
  })

  it('README.md links to every page in docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(PAGES.filter((p) => p !== 'README.md' && !readme.includes(`](${p})`))).toEqual([])
  })
})
