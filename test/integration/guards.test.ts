import { env } from 'cloudflare:workers'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { checkedFirst, failedGuard, guard, guarding } from '../../src/directory/guards'

/* src/directory/guards.ts: guards as one statement, and checkedFirst, the caller check that rides in a request's first D1 call. */
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

describe('guarding: the guards of a batch as one statement', () => {
  const first = guard<'ok'>('first', sql`${sql.placeholder('ok')} = 1`)
  const second = guard<'ok' | 'n'>('second', sql`${sql.placeholder('ok')} = 1 AND ${sql.placeholder('n')} > 0`)
  /** The guards, then an insert, as one batch: which guard stopped it (undefined if none), and whether the insert was written. */
  async function run(...guards: Parameters<typeof guarding>[0]) {
    await env.DB.prepare('CREATE TABLE IF NOT EXISTS guarded_probe (v TEXT)').run()
    await env.DB.prepare('DELETE FROM guarded_probe').run()
    const q = guarding(guards)
    let failed: string | undefined
    try {
      await env.DB.batch([env.DB.prepare(q.sql).bind(...q.params), env.DB.prepare("INSERT INTO guarded_probe (v) VALUES ('written')")])
    } catch (e) {
      failed = failedGuard(e)
      if (!failed) throw e
    }
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM guarded_probe').first<{ n: number }>())!
    return { failed, written: n === 1 }
  }

  it('names the first guard, in order, that does not hold, and writes nothing', async () => {
    expect(await run(first({ ok: 0 }), second({ ok: 0, n: 1 }))).toEqual({ failed: 'first', written: false })
    expect(await run(second({ ok: 0, n: 1 }), first({ ok: 0 }))).toEqual({ failed: 'second', written: false })
    // Each guard's values bind to its own condition: here only the second one's `n` fails.
    expect(await run(first({ ok: 1 }), second({ ok: 1, n: 0 }))).toEqual({ failed: 'second', written: false })
  })

  it('lets the batch run when every guard holds', async () => {
    expect(await run(first({ ok: 1 }), second({ ok: 1, n: 2 }))).toEqual({ failed: undefined, written: true })
    expect(await run(first({ ok: 1 }))).toEqual({ failed: undefined, written: true })
  })

  it('takes only words as names, since they go into the statement', () => {
    expect(() => guard("x') OR 1 --", sql`1`)).toThrow(/not a word/)
  })
})
