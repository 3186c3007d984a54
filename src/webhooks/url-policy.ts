import ipaddr from 'ipaddr.js'

/*
 * Where a webhook may point. Anyone holding the admin token can name a URL that this Worker will
 * then POST to, so a URL must be https: and must not reach loopback, private, link-local (cloud
 * metadata) or other non-public addresses, by literal or by what its name resolves to. The
 * WEBHOOK_ALLOW_INSECURE var lifts both rules for local development, where the receiver is
 * http://127.0.0.1. Ranges come from ipaddr.js (the classification proxy-addr and Express use)
 * rather than a hand-kept list; only "unicast" is public.
 */

// Names that never resolve publicly (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal).
const LOCAL_NAME = /(^|\.)(localhost|local|internal|home\.arpa|lan)$/i

/** Why an address may not be delivered to, or null if it is public. */
export function addressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`
  const range = ipaddr.process(address).range()
  return range === 'unicast' ? null : `${address} is a ${range} address`
}

/** Why the URL may not be a webhook target before any lookup, or null. `allowInsecure` lifts the rules. */
export function urlProblem(raw: string, allowInsecure: boolean): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'must be an absolute URL such as https://example.com/hooks/directory'
  }
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) return 'must be an https: URL'
  if (url.username || url.password) return 'must not carry a user name or password (put a secret in the path, or check the signature)'
  if (allowInsecure) return null
  // WHATWG URL parsing has already turned 0x7f.1, 2130706433 and the like into dotted IPv4.
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (ipaddr.isValid(host)) {
    const problem = addressProblem(host)
    return problem ? `must not point to a non-public address: ${problem}` : null
  }
  if (LOCAL_NAME.test(host) || !host.includes('.')) return `must name a public host ("${host}" is local)`
  return null
}

interface DnsAnswer {
  type: number
  data: string
}

/**
 * Why the URL's host resolves somewhere it may not be delivered to, or null: every A and AAAA
 * record must be public. Asked over DNS-over-HTTPS (JSON; DNS_RESOLVER_URL, Cloudflare's by
 * default) at creation and before each round of deliveries, so a name later pointed at a private
 * address is caught too. Literal addresses were checked by urlProblem.
 */
export async function resolutionProblem(raw: string, resolverUrl: string, allowInsecure: boolean): Promise<string | null> {
  if (allowInsecure) return null
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '')
  if (ipaddr.isValid(host)) return null
  const answers: DnsAnswer[] = []
  for (const type of ['A', 'AAAA']) {
    const res = await fetch(`${resolverUrl}?name=${encodeURIComponent(host)}&type=${type}`, {
      headers: { accept: 'application/dns-json' },
      signal: AbortSignal.timeout(5000),
    }).catch((e: unknown) => new Error(String(e)))
    if (res instanceof Error || !res.ok)
      return `could not look up ${host} (${res instanceof Error ? res.message : `resolver answered ${res.status}`})`
    const body = (await res.json().catch(() => ({}))) as { Answer?: DnsAnswer[] }
    // Type 1 is A, 28 AAAA; CNAMEs (5) in the chain are followed by the resolver itself.
    answers.push(...(body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28))
  }
  if (answers.length === 0) return `${host} does not resolve to any address`
  for (const a of answers) {
    const problem = addressProblem(a.data)
    if (problem) return `${host} resolves to a non-public address: ${problem}`
  }
  return null
}
