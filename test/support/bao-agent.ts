// `bao agent` run with the example of docs/openbao (agent.hcl and bot-config.ctmpl), as a bot's
// host would run it, in a directory of its own: the tests read what it renders.
import {type ChildProcess, spawn} from 'node:child_process'
import {copyFileSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {exited, terminate} from './child-process.js'
import {baoBinary} from './openbao.js'

export const OPENBAO_DOCS = resolve(import.meta.dirname, '../../docs/openbao')

export interface BaoAgent {
  child: ChildProcess
  /** The file the template renders. */
  rendered: string
  /** Waits (up to 30 s) until `test` holds of the rendered file's text; fails with what the agent said. */
  until(what: string, test: (text: string) => boolean): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts the example in `dir`, which holds the AppRole's role-id and secret-id files. The one change
 * to it: the secret is read again every second instead of every minute.
 */
export function startBaoAgent(dir: string, address: string): BaoAgent {
  copyFileSync(join(OPENBAO_DOCS, 'bot-config.ctmpl'), join(dir, 'bot-config.ctmpl'))
  const config = readFileSync(join(OPENBAO_DOCS, 'agent.hcl'), 'utf8')
  if (!config.includes('static_secret_render_interval = "1m"')) throw new Error('docs/openbao/agent.hcl no longer re-reads the secret every minute')
  writeFileSync(join(dir, 'agent.hcl'), config.replace('static_secret_render_interval = "1m"', 'static_secret_render_interval = "1s"'))
  const child = spawn(baoBinary(), ['agent', '-config=agent.hcl'], {
    cwd: dir,
    env: {PATH: process.env.PATH, HOME: dir, BAO_ADDR: address},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let said = ''
  child.stdout?.on('data', (d) => (said += d))
  child.stderr?.on('data', (d) => (said += d))
  const rendered = join(dir, 'config.yaml')
  return {
    child,
    rendered,
    async until(what, test) {
      const deadline = Date.now() + 30_000
      while (!(existsSync(rendered) && test(readFileSync(rendered, 'utf8')))) {
        if (exited(child) || Date.now() > deadline) throw new Error(`no ${what}; the agent said:\n${said}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    stop: () => terminate(child, 5000),
  }
}
