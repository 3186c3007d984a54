import type * as z from 'zod'
import { invalidValue } from '../scim/errors'

/** zod at the edge, failing as a 400 whose detail names the field and what is wrong with it. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body'
  throw invalidValue(`${field}: ${issue.message}`)
}
