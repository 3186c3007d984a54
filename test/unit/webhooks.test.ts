import { describe, expect, it } from 'vitest'
import { expandPatterns } from '../../src/admin/webhooks'
import { backoffSeconds, classify } from '../../src/webhooks/deliver'
import { addressProblem, urlProblem } from '../../src/webhooks/url-policy'

describe('webhook URL rules', () => {
  it('take public https URLs only', () => {
    expect(urlProblem('https://hooks.example.com/directory', false)).toBeNull()
    expect(urlProblem('https://93.184.216.34:8443/x', false)).toBeNull()
    expect(urlProblem('https://[2606:4700::1111]/x', false)).toBeNull()
    for (const [url, why] of [
      ['http://hooks.example.com/', 'https'],
      ['ftp://hooks.example.com/', 'https'],
      ['https://127.0.0.1/', 'loopback'],
      ['https://2130706433/', 'loopback'],
      ['https://0177.0.0.1/', 'loopback'],
      ['https://[::ffff:127.0.0.1]/', 'loopback'],
      ['https://[::1]/', 'loopback'],
      ['https://[fd00::1]/', 'uniqueLocal'],
      ['https://[fe80::1]/', 'linkLocal'],
      ['https://169.254.169.254/latest/meta-data', 'linkLocal'],
      ['https://192.168.1.1/', 'private'],
      ['https://172.16.0.1/', 'private'],
      ['https://100.64.0.1/', 'carrierGradeNat'],
      ['https://0.0.0.0/', 'unspecified'],
      ['https://localhost/', 'local'],
      ['https://api.localhost/', 'local'],
      ['https://printer.local/', 'local'],
      ['https://db.internal/', 'local'],
      ['https://intranet/', 'local'],
      ['https://a:b@hooks.example.com/', 'password'],
      ['hooks.example.com', 'absolute'],
    ])
      expect(urlProblem(url!, false), url).toContain(why)
  })

  it('allow http and local receivers when WEBHOOK_ALLOW_INSECURE is set, but still only http(s)', () => {
    expect(urlProblem('http://127.0.0.1:9000/hook', true)).toBeNull()
    expect(urlProblem('https://localhost/hook', true)).toBeNull()
    expect(urlProblem('file:///etc/passwd', true)).toContain('https')
  })

  it('classify resolved addresses', () => {
    expect(addressProblem('8.8.8.8')).toBeNull()
    expect(addressProblem('10.0.0.1')).toContain('private')
    expect(addressProblem('::1')).toContain('loopback')
    expect(addressProblem('example.com')).toContain('not an IP address')
  })
})

describe('webhook delivery policy', () => {
  it('backs off exponentially from the base, at most an hour', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 30))).toEqual([30, 60, 120, 240])
    expect(backoffSeconds(20, 30)).toBe(3600)
  })

  it('retries everything but a 2xx and the answers that say this event will never be taken', () => {
    expect([200, 204, 299].map(classify)).toEqual(['delivered', 'delivered', 'delivered'])
    expect([400, 422].map(classify)).toEqual(['rejected', 'rejected'])
    expect([301, 401, 404, 408, 429, 500, 503].map(classify)).toEqual(Array(7).fill('failed'))
  })

  it('expands event patterns to the types they stand for', () => {
    expect(expandPatterns(['user.*'])).toEqual([
      'user.created',
      'user.updated',
      'user.archived',
      'user.restored',
      'user.deleted',
      'user.detached',
    ])
    expect(expandPatterns(['group.member_added', 'device.*'])).toEqual(['group.member_added', 'device.assigned', 'device.unassigned'])
    expect(expandPatterns(['*'])).toHaveLength(17)
    expect(() => expandPatterns(['users.*'])).toThrow(/"users\.\*" is not an event type/)
  })
})
