import {PassThrough} from 'node:stream'
import {type Io, streamIo} from '../../src/cli/io.js'
import type {Deps} from '../../src/core/deps.js'

export interface TestIo {
  io: Io
  /** Everything written to stdout and stderr so far, exactly as a terminal would have received it. */
  stdout(): string
  stderr(): string
}

/** An Io over buffers, for running an action in-process: what it writes goes through the real output boundary. */
export function testIo(deps: Deps, opts: {json?: boolean; tty?: boolean; env?: NodeJS.ProcessEnv} = {}): TestIo {
  let out = ''
  let err = ''
  const stdin = Object.assign(new PassThrough(), {isTTY: false}) as unknown as NodeJS.ReadStream
  stdin.end()
  const stderr = {isTTY: opts.tty ?? false, write: (text: string) => ((err += text), true)} as unknown as NodeJS.WriteStream
  const stdout = {isTTY: opts.tty ?? false, write: (text: string) => ((out += text), true)}
  const io = streamIo({stdin, stdout, stderr, env: opts.env ?? {}}, {json: opts.json ?? false, deps: () => deps})
  return {io, stdout: () => out, stderr: () => err}
}
