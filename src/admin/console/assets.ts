/*
 * The console's stylesheet and its one script, served by this Worker (the CSP allows 'self' only, no
 * inline script or style). Hand-written rather than a library: the script does two small things
 * (copy buttons, live progress by polling) and every page works without it.
 */

export const CONSOLE_CSS = `
:root { --fg: #1d2430; --muted: #5b6576; --line: #d8dde6; --bg: #f6f7f9; --card: #fff; --accent: #1f5fbf; --danger: #b3261e; --ok: #1e7a3c; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #8ab4f8; outline-offset: 2px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1.25rem; background: #142033; color: #fff; }
header.top a { color: #fff; text-decoration: none; }
header.top nav { display: flex; gap: 1rem; flex-wrap: wrap; }
header.top nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; }
header.top .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; font-size: .9em; color: #c9d3e3; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #6d7d96; }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.card > h2:first-child { margin-top: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .55rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85em; color: var(--muted); font-weight: 600; background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.25rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .75rem 0; }
button, .button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
label.check { font-weight: normal; display: flex; gap: .5rem; align-items: center; }
input[type=text], input[type=password], input[type=email], input[type=search], select, textarea { font: inherit; width: 100%; max-width: 32rem; padding: .45rem .6rem; border: 1px solid #9aa5b5; border-radius: 6px; background: #fff; color: var(--fg); }
textarea { max-width: 100%; min-height: 8rem; font-family: ui-monospace, monospace; font-size: .85em; }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 1rem 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.hint { color: var(--muted); font-size: .9em; margin: .25rem 0; }
.secret { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.secret code { background: #eef1f5; padding: .35rem .5rem; border-radius: 4px; overflow-wrap: anywhere; font-size: .9em; }
.notice { border-left: 4px solid var(--warn); background: #fff8e6; padding: .6rem .9rem; border-radius: 4px; margin: .75rem 0; }
.error { border-left: 4px solid var(--danger); background: #fdeceb; padding: .6rem .9rem; border-radius: 4px; margin: .75rem 0; }
.status { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85em; border: 1px solid currentColor; white-space: nowrap; }
.status.ok { color: var(--ok); } .status.bad { color: var(--danger); } .status.busy { color: var(--accent); } .status.warn { color: var(--warn); }
.tabs { display: flex; gap: .25rem; margin-bottom: .75rem; }
.tabs a { padding: .35rem .9rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; background: #fff; }
.tabs a[aria-current="page"] { background: var(--accent); color: #fff; border-color: var(--accent); }
.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: .75rem; }
.filters label { margin: 0 0 .25rem; }
.filters input, .filters select { width: auto; min-width: 12rem; }
.muted { color: var(--muted); }
.kinds { display: grid; gap: .5rem; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); }
.kinds label { font-weight: normal; border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; background: #fff; display: flex; gap: .5rem; align-items: flex-start; margin: 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) { main { padding: 0 .75rem; } th, td { padding: .45rem .5rem; } dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .4rem; } }
`

export const CONSOLE_JS = `
'use strict';
// Copy buttons: <button data-copy="element-id">.
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-copy]');
  if (!button) return;
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.textContent = 'Copied';
  });
});
// Live progress: an element with data-poll="url" is replaced by what the url returns, every 2 s,
// until the run has finished.
function poll(element) {
  var url = element.getAttribute('data-poll');
  setTimeout(function () {
    fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
      .then(function (text) {
        var holder = document.createElement('div');
        holder.innerHTML = text;
        var next = holder.firstElementChild;
        if (!next) return;
        element.replaceWith(next);
        if (next.hasAttribute('data-poll')) poll(next);
        else refreshMain();
      })
      .catch(function () { poll(element); });
  }, 2000);
}
document.querySelectorAll('[data-poll]').forEach(poll);
// Once a run has finished, the rest of the page (status, counts) too, still without a reload.
function refreshMain() {
  fetch(location.pathname, { credentials: 'same-origin', headers: { accept: 'text/html' } })
    .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
    .then(function (text) {
      var fresh = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
      var main = document.querySelector('main');
      if (fresh && main) main.replaceChildren.apply(main, Array.from(fresh.childNodes));
    })
    .catch(function () {});
}
// A consent start link, followed at once (a plain link is on the page for when scripts are off).
var go = document.querySelector('a[data-go]');
if (go) location.assign(go.href);
`
