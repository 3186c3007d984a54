import { preconditionFailed } from './errors'
import { etagOf } from './render'

/**
 * RFC 7644 §3.14 / RFC 9110 §13.1: does an If-Match / If-None-Match header name this version?
 * Weak comparison (W/ is ignored), `*` matches any current resource, lists are comma-separated.
 */
export function etagMatches(header: string, version: number): boolean {
  const tag = etagOf(version).replace(/^W\//, '')
  return header.split(',').some((part) => {
    const t = part.trim()
    return t === '*' || t.replace(/^W\//, '') === tag
  })
}

/** Throws 412 unless `ifMatch` is absent or names `version`. */
export function checkIfMatch(ifMatch: string | undefined, version: number, what: string) {
  if (ifMatch !== undefined && !etagMatches(ifMatch, version))
    throw preconditionFailed(`${what} has changed: its version is now ${etagOf(version)}, not ${ifMatch}. Read it again and retry.`)
}
