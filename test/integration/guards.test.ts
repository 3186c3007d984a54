import { env } from 'cloudflare:workers'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { checkedFirst, guard } from '../../src/directory/guards'

/* checkedFirst (src/directory/guards.ts): the caller check that rides in a request's first D1 call. */
const holds = guard<'ok'>('test-check', sql`${sql.placeholder('ok')} = 1`)
const refusal = new Error('refused')
const refused = async (): Promise<never> => {
  throw refusal
}

describe('checkedFirst', () => {
  it('leads the first batch only, and hands back that batch’s own results', async () => {
    const calls: number[] = []
    const counting = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'batch') return (statements: D1PreparedStatement[]) => (calls.push(statements.length), target.batch(statements))
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const { d1 } = checkedFirst(counting, holds({ ok: 1 }), refused)
    const [first] = await d1.batch([d1.prepare('SELECT 7 AS n')])
    expect(first!.results).toEqual([{ n: 7 }])
    await d1.batch([d1.prepare('SELECT 8 AS n')])
    expect(calls).toEqual([2, 1])
  })

  it('a failed check refuses, and nothing in its batch is written', async () => {
    await env.DB.prepare('CREATE TABLE IF NOT EXISTS guard_probe (v TEXT)').run()
    const { d1 } = checkedFirst(env.DB, holds({ ok: 0 }), refused)
    await expect(d1.batch([d1.prepare("INSERT INTO guard_probe (v) VALUES ('written')")])).rejects.toBe(refusal)
    expect(await env.DB.prepare("SELECT count(*) AS n FROM guard_probe WHERE v = 'written'").first()).toEqual({ n: 0 })
  })

  it('checks before a statement run alone, and ensure() checks a request that made no D1 call', async () => {
    const alone = checkedFirst(env.DB, holds({ ok: 0 }), refused)
    await expect(alone.d1.prepare('SELECT 1 AS n').first()).rejects.toBe(refusal)
    await expect(checkedFirst(env.DB, holds({ ok: 0 }), refused).ensure()).rejects.toBe(refusal)
    const ok = checkedFirst(env.DB, holds({ ok: 1 }), refused)
    expect(await ok.d1.prepare('SELECT 1 AS n').first()).toEqual({ n: 1 })
    await ok.ensure()
  })
})
