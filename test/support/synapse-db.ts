// Reads the test Synapse's own sqlite database: what the server holds, whatever any client says.
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {synapseVenvDir} from './synapse.js'

const QUERY = `
import sqlite3, sys, json
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
rows = db.execute('SELECT token FROM access_tokens WHERE user_id = ? AND device_id = ?', (sys.argv[2], sys.argv[3])).fetchall()
print(json.dumps([r[0] for r in rows]))
`

/** The access tokens the server holds for one device of a user (Synapse keeps them in clear). */
export function deviceTokens(synapseDir: string, userId: string, deviceId: string): string[] {
  const out = execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', QUERY, join(synapseDir, 'homeserver.db'), userId, deviceId], {encoding: 'utf8'})
  return JSON.parse(out) as string[]
}

const DEVICES = `
import sqlite3, sys, json
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
rows = db.execute('SELECT device_id FROM devices WHERE user_id = ? AND NOT hidden ORDER BY device_id', (sys.argv[2],)).fetchall()
print(json.dumps([r[0] for r in rows]))
`

/** The devices the server has for a user (not the hidden ones Synapse keeps for cross-signing keys). */
export function userDevices(synapseDir: string, userId: string): string[] {
  const out = execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', DEVICES, join(synapseDir, 'homeserver.db'), userId], {encoding: 'utf8'})
  return JSON.parse(out) as string[]
}
