/*
 * Faults at random pages, for the fakes of Graph (graph.ts) and Google (google.ts): each time a page
 * is asked for, a seeded hash of the page and of how often it was served decides whether the answer
 * is a bad one:
 * throttled (429), unavailable (503), an HTML error page from a proxy, JSON cut short, JSON of
 * another shape, a page in a changed schema (items whose fields were renamed), or an expired access
 * token, each kind in turn. A page never fails twice in a row, so a run that retries gets every
 * page in the end, and what it imports can be compared with a clean run's. `injected` tallies what was sent, so a test can
 * check the faults really happened.
 */

export const CHAOS_KINDS = ['throttled', 'unavailable', 'html', 'truncated', 'garbage', 'schema', 'expiredToken'] as const
export type ChaosKind = (typeof CHAOS_KINDS)[number]

export interface ChaosSettings {
  seed: number
  /** Share of pages whose first answer is a fault, 0 to 1. */
  rate: number
  kinds?: ChaosKind[]
}

/** FNV-1a: a page's draw depends on the seed and the page alone, not on the order pages are asked for. */
function hash(s: string) {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return (h >>> 0) / 2 ** 32
}

export class Chaos {
  readonly injected: Partial<Record<ChaosKind, number>> = {}
  private faults = 0
  /** Pages whose last answer was a fault: their next one is clean. */
  private readonly owed = new Set<string>()
  /** Clean answers so far per page: each asks the draw afresh (a later run reads the same pages again). */
  private readonly served = new Map<string, number>()
  constructor(readonly settings: ChaosSettings) {}

  /** The fault `page` answers with this time, if any (and how many of its kind came before): never twice in a row for one page. */
  draw(page: string): { kind: ChaosKind; nth: number } | undefined {
    const n = this.served.get(page) ?? 0
    if (this.owed.delete(page) || hash(`${this.settings.seed}:${n}:${page}`) >= this.settings.rate) {
      this.served.set(page, n + 1)
      return undefined
    }
    this.owed.add(page)
    // The kinds take turns, so that a run with as many faults as kinds meets every one.
    const kinds = this.settings.kinds ?? CHAOS_KINDS
    const kind = kinds[this.faults++ % kinds.length]!
    const nth = this.injected[kind] ?? 0
    this.injected[kind] = nth + 1
    return { kind, nth }
  }
}

/**
 * Bodies of JSON in a shape no page has, as a broken gateway or a bug might send with a 200, in
 * turn: first the two that read like an empty last page, the likeliest to end a listing early.
 */
const WRONG_SHAPES = ['{}', '{"value":[]}', '[]', 'null', '"OK"', '{"value":42,"users":{},"members":"none"}']

/**
 * The faults every API suffers alike (the fake answers throttling, outages and expired tokens in its
 * own API's words): `real` is the page the fake would have sent.
 */
export async function garble({ kind, nth }: { kind: ChaosKind; nth: number }, real: Response): Promise<Response> {
  const text = await real.text()
  const json = { 'content-type': 'application/json' }
  switch (kind) {
    case 'html':
      // Some proxies answer 200 with their error page, others 502.
      return new Response('<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>', {
        status: nth % 2 ? 502 : 200,
        headers: { 'content-type': 'text/html' },
      })
    case 'truncated':
      return new Response(text.slice(0, Math.floor(text.length / 2)), { headers: json })
    case 'garbage':
      return new Response(WRONG_SHAPES[nth % WRONG_SHAPES.length], { headers: json })
    case 'schema':
      // The same page with every item's fields renamed (id → Id, userPrincipalName → UserPrincipalName…).
      return new Response(
        JSON.stringify(JSON.parse(text), (key, value: unknown) =>
          value && typeof value === 'object' && !Array.isArray(value) && key !== ''
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v]))
            : value
        ),
        { headers: json }
      )
    default:
      return new Response(text, { status: real.status, headers: real.headers })
  }
}
