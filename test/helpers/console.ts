import { exports } from 'cloudflare:workers'
import { ORIGIN } from './http'

/** A browser for the console, inside workerd: keeps its session cookie, posts forms with its CSRF token. */
export class ConsoleBrowser {
  cookie = ''
  csrf = ''

  constructor(private fetcher: (request: Request) => Promise<Response> = (r) => exports.default.fetch(r)) {}

  async request(method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(this.cookie ? { cookie: this.cookie } : {}), ...(options.headers ?? {}) }
    let body: string | undefined
    if (options.form) {
      body = new URLSearchParams(options.form).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers.origin ??= ORIGIN
    }
    const res = await this.fetcher(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: 'manual' }))
    const text = await res.text()
    const set = res.headers.get('set-cookie')
    if (set) {
      const [pair] = set.split(';')
      this.cookie = /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(set) ? '' : pair!
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(text)
    if (token) this.csrf = token[1]!
    return { status: res.status, headers: res.headers, text, setCookie: set }
  }

  get = (path: string, headers?: Record<string, string>) => this.request('GET', path, { headers })

  /** A form post with the session's CSRF token, as the console's own forms send it. */
  post = (path: string, form: Record<string, string> = {}, headers?: Record<string, string>) =>
    this.request('POST', path, { form: { _csrf: this.csrf, ...form }, headers })

  async signIn(token = 'test-admin-token') {
    const res = await this.request('POST', '/admin/login', { form: { token } })
    if (res.status === 303) await this.get('/admin')
    return res
  }
}

/** The text of a page without its tags, for assertions on what a person reads. */
export const textOf = (page: string) =>
  page
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
