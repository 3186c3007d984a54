import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from '../constants'
import { invalidFilter } from '../errors'
import { COMPARE_OPS, type CompareOp, type Filter, type FilterValue } from './ast'

type Token =
  { kind: 'word'; text: string; pos: number } | { kind: 'string'; text: string; pos: number } | { kind: '(' | ')' | '[' | ']'; pos: number }

const PUNCT = new Set(['(', ')', '[', ']'])

function tokenize(input: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < input.length) {
    const ch = input[i]!
    if (/\s/.test(ch)) {
      i++
    } else if (PUNCT.has(ch)) {
      tokens.push({ kind: ch as '(' | ')' | '[' | ']', pos: i })
      i++
    } else if (ch === '"') {
      // A JSON string: the RFC's compValue grammar is JSON's.
      let j = i + 1
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1
      if (j >= input.length) throw invalidFilter(`Unterminated string starting at position ${i + 1}.`)
      let text: string
      try {
        text = JSON.parse(input.slice(i, j + 1)) as string
      } catch {
        throw invalidFilter(`Invalid escape in the string starting at position ${i + 1}.`)
      }
      tokens.push({ kind: 'string', text, pos: i })
      i = j + 1
    } else {
      let j = i
      while (j < input.length && !/\s/.test(input[j]!) && !PUNCT.has(input[j]!) && input[j] !== '"') j++
      tokens.push({ kind: 'word', text: input.slice(i, j), pos: i })
      i = j
    }
  }
  return tokens
}

const ATTR_PATH = /^(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/

class Parser {
  private i = 0
  constructor(
    private readonly tokens: Token[],
    private readonly source: string
  ) {}

  parse(): Filter {
    const f = this.or(0, false)
    const extra = this.tokens[this.i]
    if (extra) throw this.error(extra, `Unexpected ${describe(extra)}`)
    return f
  }

  private error(token: Token | undefined, message: string) {
    const where = token ? ` at position ${token.pos + 1}` : ' at the end of the filter'
    return invalidFilter(`${message}${where}: ${this.source}`)
  }

  private peekWord(word: string) {
    const t = this.tokens[this.i]
    return t?.kind === 'word' && t.text.toLowerCase() === word
  }

  private expect(kind: Token['kind'], what: string) {
    const t = this.tokens[this.i]
    if (t?.kind !== kind) throw this.error(t, `Expected ${what}`)
    this.i++
  }

  private or(depth: number, inValuePath: boolean): Filter {
    let left = this.and(depth, inValuePath)
    while (this.peekWord('or')) {
      this.i++
      left = { op: 'or', left, right: this.and(depth, inValuePath) }
    }
    return left
  }

  private and(depth: number, inValuePath: boolean): Filter {
    let left = this.unary(depth, inValuePath)
    while (this.peekWord('and')) {
      this.i++
      left = { op: 'and', left, right: this.unary(depth, inValuePath) }
    }
    return left
  }

  private unary(depth: number, inValuePath: boolean): Filter {
    if (depth > MAX_FILTER_DEPTH) throw invalidFilter(`The filter nests deeper than ${MAX_FILTER_DEPTH} levels; simplify it.`)
    const t = this.tokens[this.i]
    if (this.peekWord('not')) {
      this.i++
      this.expect('(', '"(" after "not"')
      const inner = this.or(depth + 1, inValuePath)
      this.expect(')', 'a closing ")"')
      return { op: 'not', filter: inner }
    }
    if (t?.kind === '(') {
      this.i++
      const inner = this.or(depth + 1, inValuePath)
      this.expect(')', 'a closing ")"')
      return inner
    }
    return this.attrExpression(depth, inValuePath)
  }

  private attrExpression(depth: number, inValuePath: boolean): Filter {
    const t = this.tokens[this.i]
    if (t?.kind !== 'word' || !ATTR_PATH.test(t.text)) throw this.error(t, 'Expected an attribute name')
    this.i++
    const attr = t.text
    if (this.tokens[this.i]?.kind === '[') {
      if (inValuePath) throw this.error(this.tokens[this.i], 'Value filters cannot be nested')
      if (attr.includes('.') && !attr.toLowerCase().startsWith('urn:')) throw this.error(t, `"${attr}" cannot take a value filter`)
      this.i++
      const inner = this.or(depth + 1, true)
      this.expect(']', 'a closing "]"')
      const sub = this.tokens[this.i]
      // Entra sends `emails[type eq "work"].value eq "x"`: a value filter on one sub-attribute.
      if (sub?.kind === 'word' && sub.text.startsWith('.')) {
        this.i++
        const subAttr = sub.text.slice(1)
        if (!ATTR_PATH.test(subAttr) || subAttr.includes('.')) throw this.error(sub, 'Expected a sub-attribute name')
        return { op: '[]', attr, filter: { op: 'and', left: inner, right: this.comparison(subAttr) } }
      }
      return { op: '[]', attr, filter: inner }
    }
    return this.comparison(attr)
  }

  private comparison(attr: string): Filter {
    const opToken = this.tokens[this.i]
    const op = opToken?.kind === 'word' ? opToken.text.toLowerCase() : ''
    if (op === 'pr') {
      this.i++
      return { op: 'pr', attr }
    }
    if (!(COMPARE_OPS as readonly string[]).includes(op))
      throw this.error(opToken, `Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "${attr}"`)
    this.i++
    return { op: op as CompareOp, attr, value: this.value(attr) }
  }

  private value(attr: string): FilterValue {
    const t = this.tokens[this.i]
    if (t?.kind === 'string') {
      this.i++
      return t.text
    }
    if (t?.kind !== 'word') throw this.error(t, `Expected a value to compare "${attr}" with`)
    this.i++
    const lower = t.text.toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
    if (lower === 'null') return null
    if (NUMBER.test(t.text)) return Number(t.text)
    // Unquoted strings (`userName sw O`, unquoted dates) are accepted as test tools built for Entra send them.
    return t.text
  }
}

function describe(t: Token) {
  return t.kind === 'word' ? `"${t.text}"` : t.kind === 'string' ? `string ${JSON.stringify(t.text)}` : `"${t.kind}"`
}

/** Parses a SCIM filter (RFC 7644 §3.4.2.2). Throws 400 invalidFilter naming the position. */
export function parseFilter(source: string): Filter {
  if (source.length > MAX_FILTER_LENGTH)
    throw invalidFilter(`The filter is ${source.length} characters long; at most ${MAX_FILTER_LENGTH} are accepted.`)
  const tokens = tokenize(source)
  if (tokens.length === 0) throw invalidFilter('The filter is empty.')
  return new Parser(tokens, source).parse()
}
