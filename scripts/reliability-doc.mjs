// docs/reliability.md's table is written by the scripts that measure it, never by hand: each row
// ends with a `<!-- name -->` marker and is replaced by the script of that name.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './host.mjs'

export function writeReliabilityRow(name, row) {
  const path = join(root, 'docs', 'reliability.md')
  const text = readFileSync(path, 'utf8')
  const marker = new RegExp(`^.*<!-- ${name} -->$`, 'm')
  if (!marker.test(text)) throw new Error(`docs/reliability.md has no <!-- ${name} --> row`)
  writeFileSync(path, text.replace(marker, `${row} <!-- ${name} -->`))
  console.log(`docs/reliability.md: the "${name}" row is updated.`)
}
