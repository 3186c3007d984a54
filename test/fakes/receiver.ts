/*
 * The outside world of webhooks, for tests: a DNS-over-HTTPS resolver answering like Cloudflare's
 * JSON API (https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/),
 * and webhook receivers. A receiver is a path on hooks.fake.test (or on a name that resolves to a
 * private address, to test that nothing is sent there); it records every request and answers with
 * the statuses a test scripted for its path, in order, then 200. Control requests go to /_fake/.
 */

interface Received {
  headers: Record<string, string>
  body: string
  at: number
}

/** Names the fake resolver knows, with their A and AAAA records. */
const RECORDS: Record<string, { A?: string[]; AAAA?: string[] }> = {
  'hooks.fake.test': { A: ['93.184.216.34'], AAAA: ['2606:2800:220:1:248:1893:25c8:1946'] },
  // A public name whose IPv6 record points home: every record must be public.
  'sneaky.fake.test': { A: ['93.184.216.35'], AAAA: ['::1'] },
  'metadata.fake.test': { A: ['169.254.169.254'] },
  'intranet.fake.test': { A: ['10.1.2.3'] },
  // Public at first; a test re-points it (POST https://dns.fake.test/_fake/record).
  'rebind.fake.test': { A: ['93.184.216.36'] },
}

export const RECEIVER_HOSTS = new Set(['dns.fake.test', ...Object.keys(RECORDS)])

export class FakeReceiver {
  private received = new Map<string, Received[]>()
  private scripts = new Map<string, (number | 'hang')[]>()

  readonly handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.hostname === 'dns.fake.test') return url.pathname === '/_fake/record' ? this.setRecord(request) : this.resolve(url)
    if (url.pathname.startsWith('/_fake/')) return this.control(request, url)
    const key = `${url.hostname}${url.pathname}`
    const list = this.received.get(key) ?? []
    list.push({ headers: Object.fromEntries(request.headers), body: await request.text(), at: Date.now() })
    this.received.set(key, list)
    const next = this.scripts.get(key)?.shift() ?? 200
    if (next === 'hang') return new Promise<Response>(() => {})
    return new Response(next >= 200 && next < 300 ? 'ok' : 'nope', {
      status: next,
      ...(next >= 300 && next < 400 ? { headers: { location: 'http://127.0.0.1/' } } : {}),
    })
  }

  /** Points a name somewhere else, as its owner could at any time after a webhook was created. */
  private async setRecord(request: Request): Promise<Response> {
    const { name, A, AAAA } = (await request.json()) as { name: string; A?: string[]; AAAA?: string[] }
    RECORDS[name] = { ...(A ? { A } : {}), ...(AAAA ? { AAAA } : {}) }
    return Response.json({ ok: true })
  }

  private resolve(url: URL): Response {
    const name = (url.searchParams.get('name') ?? '').toLowerCase()
    const type = url.searchParams.get('type') === 'AAAA' ? 'AAAA' : 'A'
    const records = RECORDS[name]
    const data = records?.[type] ?? []
    return Response.json(
      {
        Status: records ? 0 : 3,
        Question: [{ name, type: type === 'A' ? 1 : 28 }],
        Answer: data.map((d) => ({ name, type: type === 'A' ? 1 : 28, TTL: 300, data: d })),
      },
      { headers: { 'content-type': 'application/dns-json' } }
    )
  }

  private async control(request: Request, url: URL): Promise<Response> {
    const body = request.method === 'POST' ? ((await request.json()) as { path: string; statuses?: (number | 'hang')[] }) : undefined
    const key = (p: string) => `${url.hostname}${p}`
    if (url.pathname === '/_fake/script' && body) {
      this.scripts.set(key(body.path), [...(body.statuses ?? [])])
      return Response.json({ ok: true })
    }
    if (url.pathname === '/_fake/received') return Response.json(this.received.get(key(url.searchParams.get('path') ?? '/')) ?? [])
    return new Response('unknown control request', { status: 404 })
  }
}
