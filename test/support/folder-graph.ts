// The folders of src/ as a graph: an edge from one folder to another for each relative import
// between them. Type-only imports count too, since they tie the folders' meanings together.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/**
 * The layer a file belongs to: its top folder under root (store/secret-service is part of store), or,
 * for a file directly in root, the file itself (errors.ts is imported by every layer: as one node "."
 * with another root file it would make cycles that are none).
 */
const layerOf = (root: string, file: string) => relative(root, file).split(/[\\/]/)[0]

/** Layer → the layers it imports from, each with one import that does it. */
export function folderGraph(root: string): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>()
  for (const file of sources(root)) {
    const from = layerOf(root, file)
    const edges = graph.get(from) ?? new Map<string, string>()
    graph.set(from, edges)
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const to = layerOf(root, resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
      if (to !== from && !edges.has(to)) edges.set(to, `${relative(root, file)} imports ${spec}`)
    }
  }
  return graph
}

/** Every cycle of folders, each as the path of imports that closes it (one per strongly connected group). */
export function folderCycles(graph: Map<string, Map<string, string>>): string[][] {
  const cycles: string[][] = []
  const done = new Set<string>()
  for (const start of [...graph.keys()].sort()) {
    // Breadth-first from each folder back to itself: the shortest cycle through it, if any.
    const back = new Map<string, string>()
    const queue = [start]
    let closed: string | undefined
    while (queue.length > 0 && closed === undefined) {
      const at = queue.shift()!
      for (const next of graph.get(at)?.keys() ?? []) {
        if (next === start) {
          closed = at
          break
        }
        if (!back.has(next)) {
          back.set(next, at)
          queue.push(next)
        }
      }
    }
    if (closed === undefined) continue
    const path = [closed]
    while (path[0] !== start) path.unshift(back.get(path[0])!)
    const key = [...path].sort().join(' ')
    if (done.has(key)) continue
    done.add(key)
    cycles.push([...path, start].map((f, i, all) => (i + 1 < all.length ? graph.get(f)!.get(all[i + 1])! : f)).slice(0, -1))
  }
  return cycles
}
