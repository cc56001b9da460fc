import {closeSync, openSync, readSync} from 'node:fs'

/**
 * A file mxtok did not write (a token file, a CA bundle, a secret ID), read whole only up to
 * `maxBytes`: a runaway file or a device such as /dev/zero cannot grow mxtok without end. Past the
 * bound it throws an Error whose message says so, for the caller's "cannot read …" line.
 */
export function readFileBounded(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r')
  try {
    const buffer = Buffer.alloc(maxBytes + 1)
    let size = 0
    for (;;) {
      const read = readSync(fd, buffer, size, buffer.length - size, null)
      if (read === 0) return buffer.subarray(0, size).toString('utf8')
      size += read
      if (size > maxBytes) throw new Error(`larger than ${maxBytes >= 1024 * 1024 ? `${maxBytes / 1024 / 1024} MiB` : `${maxBytes / 1024} KiB`}`)
    }
  } finally {
    closeSync(fd)
  }
}

/** Secrets and settings of a line or a few: a token, a secret ID, a CLI's config file. */
export const SMALL_FILE_BYTES = 64 * 1024
/** Certificates and keys in PEM: a CA bundle of a few hundred certificates fits. */
export const PEM_FILE_BYTES = 4 * 1024 * 1024
