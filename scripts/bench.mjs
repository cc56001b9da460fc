// Start-up benchmark: every figure is a ratio to a baseline measured in the same run, on the
// same machine, interleaved with it so that load from elsewhere hits both alike.
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const bin = join(root, 'bin', 'run.cjs')
const runs = Number(process.env.BENCH_RUNS ?? 25)
const configDir = mkdtempSync(join(tmpdir(), 'mxtok-bench-'))
const env = {PATH: process.env.PATH, HOME: configDir, MXTOK_CONFIG_DIR: configDir}

// A registry of realistic size, so `list --offline` reads and renders something.
const sessions = {}
for (let i = 0; i < 20; i++) {
  sessions[`bot-${i}`] = {userId: `@bot${i % 4}:example.com`, homeserver: 'https://matrix.example.com', deviceId: `MXTOKBENCH${String(i).padStart(5, '0')}`, createdAt: new Date(0).toISOString(), store: 'keychain'}
}
writeFileSync(join(configDir, 'sessions.json'), JSON.stringify({version: 1, sessions}))

const cases = [
  {name: 'node -e 0', argv: [process.execPath, '-e', '0']},
  {name: 'mxtok --version', argv: [process.execPath, bin, '--version'], goal: 2.0},
  {name: 'mxtok list --offline', argv: [process.execPath, bin, 'list', '--offline'], goal: 2.0},
]

function time(argv) {
  const started = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe']})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

for (const c of cases) time(c.argv) // warm the file cache
const samples = new Map(cases.map((c) => [c.name, []]))
for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.name).push(time(c.argv))

const base = median(samples.get(cases[0].name))
const results = cases.map((c) => {
  const ms = median(samples.get(c.name))
  const ratio = ms / base
  return {name: c.name, medianMs: Number(ms.toFixed(1)), ratio: Number(ratio.toFixed(2)), goal: c.goal ?? null, met: c.goal ? ratio <= c.goal : null}
})

const pad = (s, n) => String(s).padEnd(n)
console.log(`${pad('command', 24)}${pad('median ms', 11)}${pad('ratio', 8)}${pad('goal', 8)}met`)
for (const r of results) console.log(`${pad(r.name, 24)}${pad(r.medianMs, 11)}${pad(r.ratio.toFixed(2) + 'x', 8)}${pad(r.goal ? `<= ${r.goal}x` : 'baseline', 8)}${r.met === null ? '' : r.met ? 'yes' : 'NO'}`)
const out = join(root, '.bench')
mkdirSync(out, {recursive: true})
writeFileSync(join(out, 'startup.json'), JSON.stringify({date: new Date().toISOString(), runs, node: process.version, results}, null, 2) + '\n')
console.log(`(${runs} runs each, interleaved; written to .bench/startup.json)`)
