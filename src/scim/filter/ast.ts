/** RFC 7644 §3.4.2.2 filter AST, a discriminated union on `op` (the wire token). */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'
export type FilterValue = string | number | boolean | null

export type Filter =
  | { op: CompareOp; attr: string; value: FilterValue }
  | { op: 'pr'; attr: string }
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  /** valuePath: `emails[type eq "work"]`; `filter`'s attribute names are sub-attributes of `attr`. */
  | { op: '[]'; attr: string; filter: Filter }

export const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']

/** Filter → text; parse(stringify(f)) gives f back. */
export function stringify(f: Filter): string {
  switch (f.op) {
    case 'pr':
      return `${f.attr} pr`
    case 'and':
    case 'or':
      return `(${stringify(f.left)} ${f.op} ${stringify(f.right)})`
    case 'not':
      return `not (${stringify(f.filter)})`
    case '[]':
      return `${f.attr}[${stringify(f.filter)}]`
    default:
      return `${f.attr} ${f.op} ${JSON.stringify(f.value)}`
  }
}

/** The attribute paths a filter names at its top level (a value filter's inner names are sub-attributes). */
export function attributesOf(f: Filter): string[] {
  switch (f.op) {
    case 'and':
    case 'or':
      return [...attributesOf(f.left), ...attributesOf(f.right)]
    case 'not':
      return attributesOf(f.filter)
    default:
      return [f.attr]
  }
}
