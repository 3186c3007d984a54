import { sql, type SQL } from 'drizzle-orm'
import { invalidFilter } from '../scim/errors'
import type { CompareOp, Filter, FilterValue } from '../scim/filter/ast'
import type { AttributeDefinition } from '../scim/schemas/attribute'
import { pathText, resolvePath, type ResolvedPath, type ResourceTypeDefinition } from '../scim/schemas/registry'
import { foldKey } from './db'

/*
 * Filter AST → parameterised SQL. Attribute names come from the registry (an allow-list) and every
 * value is a bound parameter. The attributes IdPs filter on map to indexed columns; the rest are
 * read from the JSON document, which is correct but scans the integration's rows.
 */

/** A scalar the SQL can compare: an indexed column, or a JSON value. */
export interface ColumnSpec {
  expr: SQL
  /** Stored case-folded (a `*_key` column): compare against foldKey(value) so the index is used. */
  folded?: boolean
  /**
   * The folded form of `expr` for case-insensitive comparisons, read from the folded document
   * (`data_key`), compared against foldKey(value). Rows written before data_key existed fall back to
   * SQLite's lower(), which folds ASCII only, until they are next written.
   */
  foldedExpr?: SQL
  /** Never NULL: sorting on it needs no NULLS LAST, so an index can supply the order. */
  notNull?: boolean
}

/**
 * A multi-valued attribute kept in its own table. `membership(inner)` selects the owning rows with
 * `id IN (…)`, which lets an indexed equality drive the query; `correlated(inner)` tests each
 * candidate row with EXISTS, for conditions that cannot seek (the rest of the filter then drives).
 */
export interface CollectionSpec {
  columns: Record<string, ColumnSpec>
  /** Sub-attributes whose `eq` is an index seek in the collection's table. */
  seekable: string[]
  membership(inner: SQL): SQL
  correlated(inner: SQL): SQL
}

export interface FilterTarget {
  rt: ResourceTypeDefinition
  /** The JSON document column, for attributes without a column of their own. */
  data: SQL
  /** The same document with case-insensitive strings folded (src/scim/fold.ts); NULL on old rows. */
  dataKey: SQL
  /** Keyed by canonical path in lower case: `username`, `meta.created`. */
  columns: Record<string, ColumnSpec>
  collections: Record<string, CollectionSpec>
}

const jsonPath = (...keys: string[]) => '$' + keys.map((k) => `."${k}"`).join('')

function resolve(target: FilterTarget, attr: string): ResolvedPath {
  const path = resolvePath(target.rt, attr)
  if (!path) throw invalidFilter(`Unknown attribute "${attr}" in filter; see /Schemas for a ${target.rt.name}'s attributes.`)
  const def = path.subAttribute ?? path.attribute
  if (def.returned === 'never') throw invalidFilter(`"${attr}" cannot be used in a filter.`)
  return path
}

function literal(def: AttributeDefinition, attr: string, op: CompareOp, value: FilterValue): FilterValue {
  if (value === null) return null
  switch (def.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalidFilter(`"${attr}" is a boolean: compare it with true or false.`)
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`"${op}" does not apply to the boolean "${attr}".`)
      return value ? 1 : 0
    case 'integer':
    case 'decimal':
      if (typeof value !== 'number') throw invalidFilter(`"${attr}" is a number: compare it with a number.`)
      return value
    case 'dateTime': {
      const t = typeof value === 'string' ? Date.parse(value) : NaN
      if (Number.isNaN(t)) throw invalidFilter(`"${attr}" is a dateTime: compare it with a date such as "2024-05-01T00:00:00Z".`)
      return new Date(t).toISOString()
    }
    case 'complex':
      throw invalidFilter(`"${attr}" is complex: filter on one of its sub-attributes.`)
    default:
      if (typeof value !== 'string') throw invalidFilter(`"${attr}" is a string: put the value in double quotes.`)
      return value
  }
}

function compare(op: CompareOp | 'pr', spec: ColumnSpec, def: AttributeDefinition, attr: string, raw?: FilterValue): SQL {
  const caseInsensitive = def.type === 'string' && !def.caseExact
  const folds = caseInsensitive && (spec.folded || spec.foldedExpr !== undefined)
  const expr = !caseInsensitive || spec.folded ? spec.expr : (spec.foldedExpr ?? sql`lower(${spec.expr})`)
  if (op === 'pr')
    return def.type === 'string' || def.type === 'reference' ? sql`(${expr} IS NOT NULL AND ${expr} <> '')` : sql`${expr} IS NOT NULL`
  let value = literal(def, attr, op, raw ?? null)
  if (value === null) {
    if (op === 'eq') return sql`${expr} IS NULL`
    if (op === 'ne') return sql`${expr} IS NOT NULL`
    throw invalidFilter(`"${op}" cannot compare "${attr}" with null.`)
  }
  if (typeof value === 'string' && caseInsensitive) value = folds ? foldKey(value) : value.toLowerCase()
  if ((op === 'co' || op === 'sw' || op === 'ew') && typeof value !== 'string')
    throw invalidFilter(`"${op}" needs a string attribute; "${attr}" is not one.`)
  switch (op) {
    case 'eq':
      return sql`${expr} = ${value}`
    case 'ne':
      return sql`(${expr} IS NULL OR ${expr} <> ${value})`
    // instr/substr rather than LIKE: no wildcard escaping, and D1 caps LIKE patterns at 50 bytes.
    case 'co':
      return sql`instr(${expr}, ${value}) > 0`
    case 'sw':
      return sql`substr(${expr}, 1, length(${value})) = ${value}`
    case 'ew':
      return value === '' ? sql`${expr} IS NOT NULL` : sql`substr(${expr}, -length(${value})) = ${value}`
    case 'gt':
      return sql`${expr} > ${value}`
    case 'ge':
      return sql`${expr} >= ${value}`
    case 'lt':
      return sql`${expr} < ${value}`
    case 'le':
      return sql`${expr} <= ${value}`
  }
}

/** Compiles `filter` to a WHERE fragment for `target`'s table. Throws invalidFilter with a reason. */
export function compileFilter(filter: Filter, target: FilterTarget): SQL {
  switch (filter.op) {
    case 'and':
      return sql`(${compileFilter(filter.left, target)} AND ${compileFilter(filter.right, target)})`
    case 'or':
      return sql`(${compileFilter(filter.left, target)} OR ${compileFilter(filter.right, target)})`
    // A comparison on a missing attribute is NULL in SQL: NOT NULL would drop the row, where the
    // RFC's two-valued reading (and evaluate.ts) keeps it. Only NOT needs this; plain comparisons
    // stay bare so indexes apply.
    case 'not':
      return sql`NOT COALESCE((${compileFilter(filter.filter, target)}), 0)`
    case '[]': {
      const path = resolve(target, filter.attr)
      if (!path.attribute.multiValued || path.attribute.type !== 'complex' || path.subAttribute)
        throw invalidFilter(`"${filter.attr}" is not a multi-valued complex attribute, so it takes no value filter.`)
      return collection(
        target,
        path,
        (sub) => compileElement(filter.filter, path, sub),
        (seekable) => seeksOn(filter.filter, seekable)
      )
    }
    default: {
      const path = resolve(target, filter.attr)
      const value = filter.op === 'pr' ? undefined : filter.value
      if (path.attribute.multiValued) {
        // `emails eq "x"` compares the `value` sub-attribute (RFC 7644 §3.4.2.2).
        const subName = path.subAttribute?.name ?? 'value'
        const subDef = path.attribute.subAttributes?.find((s) => s.name === subName)
        if (!subDef) throw invalidFilter(`"${filter.attr}" needs a sub-attribute in a filter.`)
        return collection(
          target,
          path,
          (sub) => compare(filter.op, sub(subName), subDef, filter.attr, value),
          (seekable) => filter.op === 'eq' && value !== null && seekable.includes(subName)
        )
      }
      const def = path.subAttribute ?? path.attribute
      return compare(filter.op, scalar(target, path), def, filter.attr, value)
    }
  }
}

function scalar(target: FilterTarget, path: ResolvedPath): ColumnSpec {
  const column = target.columns[pathText(path).toLowerCase()]
  if (column) return column
  const keys = [...(path.extension ? [path.schema.id] : []), path.attribute.name, ...(path.subAttribute ? [path.subAttribute.name] : [])]
  const at = jsonPath(...keys)
  return {
    expr: sql`json_extract(${target.data}, ${at})`,
    foldedExpr: sql`coalesce(json_extract(${target.dataKey}, ${at}), lower(json_extract(${target.data}, ${at})))`,
  }
}

/** Conditions on the values of a multi-valued attribute: its own table if it has one, else json_each. */
function collection(
  target: FilterTarget,
  path: ResolvedPath,
  condition: (sub: (name: string) => ColumnSpec) => SQL,
  seeks: (seekable: string[]) => boolean
): SQL {
  const spec = !path.extension ? target.collections[path.attribute.name] : undefined
  if (spec) {
    return (seeks(spec.seekable) ? spec.membership : spec.correlated)(
      condition((name) => {
        const column = spec.columns[name]
        if (!column) throw invalidFilter(`Filtering on ${path.attribute.name}.${name} is not supported.`)
        return column
      })
    )
  }
  const keys = [...(path.extension ? [path.schema.id] : []), path.attribute.name]
  // The folded document where there is one: its case-insensitive strings are folded, the rest as in data.
  const inner = condition((name) => ({
    expr: sql`json_extract(j.value, ${jsonPath(name)})`,
    foldedExpr: sql`(CASE WHEN ${target.dataKey} IS NULL THEN lower(json_extract(j.value, ${jsonPath(name)})) ELSE json_extract(j.value, ${jsonPath(name)}) END)`,
  }))
  return sql`EXISTS (SELECT 1 FROM json_each(coalesce(${target.dataKey}, ${target.data}), ${jsonPath(...keys)}) AS j WHERE ${inner})`
}

/** Whether a value filter's top-level conjunction holds an `eq` on a seekable sub-attribute. */
function seeksOn(filter: Filter, seekable: string[]): boolean {
  if (filter.op === 'and') return seeksOn(filter.left, seekable) || seeksOn(filter.right, seekable)
  return filter.op === 'eq' && filter.value !== null && seekable.some((s) => s.toLowerCase() === filter.attr.toLowerCase())
}

function compileElement(filter: Filter, parent: ResolvedPath, sub: (name: string) => ColumnSpec): SQL {
  switch (filter.op) {
    case 'and':
      return sql`(${compileElement(filter.left, parent, sub)} AND ${compileElement(filter.right, parent, sub)})`
    case 'or':
      return sql`(${compileElement(filter.left, parent, sub)} OR ${compileElement(filter.right, parent, sub)})`
    case 'not':
      return sql`NOT COALESCE((${compileElement(filter.filter, parent, sub)}), 0)`
    case '[]':
      throw invalidFilter('Value filters cannot be nested.')
    default: {
      const def = parent.attribute.subAttributes?.find((s) => s.name.toLowerCase() === filter.attr.toLowerCase())
      if (!def) throw invalidFilter(`"${parent.attribute.name}" has no sub-attribute "${filter.attr}".`)
      return compare(filter.op, sub(def.name), def, `${parent.attribute.name}.${def.name}`, filter.op === 'pr' ? undefined : filter.value)
    }
  }
}

/** What to ORDER BY for sortBy=path: the comparable form of the attribute (RFC 7644 §3.4.2.3). */
export function sortColumn(target: FilterTarget, path: ResolvedPath): { expr: SQL; nullable: boolean } {
  const spec = scalar(target, path)
  const def = path.subAttribute ?? path.attribute
  const expr = def.type === 'string' && !def.caseExact && !spec.folded ? sql`lower(${spec.expr})` : spec.expr
  return { expr, nullable: !spec.notNull }
}
