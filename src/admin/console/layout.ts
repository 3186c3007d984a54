import { html, raw } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { Caller } from './session'

/*
 * The page shell. Every value reaches the page through hono/html's template, which escapes it
 * (names come from identity providers: a displayName "<img src=x onerror=…>" shows as text).
 */

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>

const NAV = [
  ['integrations', '/admin', 'Integrations'],
  ['users', '/admin/users', 'Users'],
  ['groups', '/admin/groups', 'Groups'],
] as const
export type Section = (typeof NAV)[number][0]

export function page(title: string, body: Html, options: { caller?: Caller; section?: Section } = {}): Html {
  const { caller, section } = options
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Directory console</title>
        <link rel="stylesheet" href="/admin/assets/console.css" />
        <script src="/admin/assets/console.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a href="/admin"><strong>Directory console</strong></a>
          ${
            caller
              ? html`<nav aria-label="Main">
                    ${NAV.map(
                      ([key, href, label]) => html`<a href="${href}" ${key === section ? raw('aria-current="page"') : ''}>${label}</a>`
                    )}
                  </nav>
                  <div class="who">
                    <span>Signed in with ${caller.who}</span>
                    ${
                      caller.sessionId
                        ? html`<form class="inline" method="post" action="/admin/logout">
                            ${csrfField(caller)}<button type="submit">Sign out</button>
                          </form>`
                        : ''
                    }
                  </div>`
              : ''
          }
        </header>
        <main id="main">${body}</main>
      </body>
    </html>`
}

export const csrfField = (caller: Caller) => html`<input type="hidden" name="_csrf" value="${caller.csrf}" />`

/** A message box: what went wrong, in the words of the error the directory gave. */
export const errorBox = (message: string | undefined) => (message ? html`<div class="error" role="alert">${message}</div>` : '')

export const when = (iso: string | null | undefined) =>
  iso
    ? html`<time datetime="${iso}"
        >${iso
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' UTC')
          .replace(/Z$/, ' UTC')}</time
      >`
    : html`<span class="muted">never</span>`

/** A table in its scrolling box; `empty` stands in a single row when there is nothing to list. */
export const table = (headers: string[], rows: Html[], empty: Html | string) =>
  html`<div class="table-wrap">
    <table>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${
          rows.length === 0
            ? html`<tr>
                <td colspan="${headers.length}" class="muted">${empty}</td>
              </tr>`
            : rows
        }
      </tbody>
    </table>
  </div>`

/** One table row of the given cells. */
export const row = (...cells: unknown[]) =>
  html`<tr>
    ${cells.map((cell) => html`<td>${cell}</td>`)}
  </tr>`
