import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {folderCycles, folderGraph} from '../support/folder-graph.js'

const tree = (files: Record<string, string>) => {
  const root = mkdtempSync(join(tmpdir(), 'mxtok-folders-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), {recursive: true})
    writeFileSync(join(root, path), text)
  }
  return root
}

describe('the folders of src/', () => {
  it('import one another without a cycle', () => {
    expect(folderCycles(folderGraph(resolve(import.meta.dirname, '../../src')))).toEqual([])
  })

  it('a cycle through type imports, dynamic imports and sub-folders is found, naming the imports', () => {
    const root = tree({
      'a/one.ts': "import type {B} from '../b/deep/two.js'\n",
      'b/deep/two.ts': "export const f = () => import('../../c/three.js')\n",
      'c/three.ts': "import {x} from '../a/one.js'\nimport {e} from '../errors.js'\n",
      'errors.ts': '',
      'top.ts': "import {x} from './a/one.js'\n",
    })
    expect(folderCycles(folderGraph(root))).toEqual([
      ['a/one.ts imports ../b/deep/two.js', 'b/deep/two.ts imports ../../c/three.js', 'c/three.ts imports ../a/one.js'],
    ])
  })
})
