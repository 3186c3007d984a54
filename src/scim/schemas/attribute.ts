/** RFC 7643 §2.2 / §7: an attribute's characteristics, as data. Discovery, validation, PATCH,
 * filtering and projection all read these definitions; nothing restates them in code. */
export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex'

export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly'
export type Returned = 'always' | 'never' | 'default' | 'request'
export type Uniqueness = 'none' | 'server' | 'global'

export interface AttributeDefinition {
  name: string
  type: AttributeType
  multiValued: boolean
  description: string
  required: boolean
  caseExact: boolean
  mutability: Mutability
  returned: Returned
  uniqueness: Uniqueness
  canonicalValues?: string[]
  referenceTypes?: string[]
  subAttributes?: AttributeDefinition[]
  /**
   * Not served in /Schemas. Kept as rows outside the document (a group's members): exempt from the
   * per-attribute value cap, and an empty list is kept, since `"members": []` in a PUT clears them.
   */
  rows?: boolean
}

export interface SchemaDefinition {
  id: string
  name: string
  description: string
  attributes: AttributeDefinition[]
}

type Options = Partial<Omit<AttributeDefinition, 'name' | 'type'>>

/** An attribute with RFC 7643 §2.2's defaults for everything not given. */
export function attr(name: string, type: AttributeType, options: Options = {}): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  }
}

export const complex = (name: string, subAttributes: AttributeDefinition[], options: Options = {}) =>
  attr(name, 'complex', { ...options, subAttributes })

/** The usual shape of a multi-valued complex attribute (emails, phoneNumbers, …). */
export function multiValued(
  name: string,
  description: string,
  types: string[],
  valueType: AttributeType = 'string',
  extra: AttributeDefinition[] = [],
  /** RFC 7643 §7: required when valueType is 'reference'. */
  referenceTypes?: string[]
): AttributeDefinition {
  return complex(
    name,
    [
      attr('value', valueType, { description: `The ${name} value.`, ...(referenceTypes ? { referenceTypes } : {}) }),
      attr('display', 'string', { description: 'A human-readable name, primarily used for display purposes.' }),
      attr('type', 'string', { description: 'A label indicating the function of this value.', canonicalValues: types }),
      attr('primary', 'boolean', { description: 'Whether this is the primary value. At most one value is primary.' }),
      ...extra,
    ],
    { multiValued: true, description }
  )
}

/** id, externalId and meta (RFC 7643 §3.1): on every resource, not listed in its schema. */
export const COMMON_ATTRIBUTES: AttributeDefinition[] = [
  attr('id', 'string', {
    description: 'Unique identifier for the resource, assigned by the service provider.',
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', 'string', {
    description: 'Identifier of the resource as defined by the provisioning client.',
    caseExact: true,
  }),
  complex(
    'meta',
    [
      attr('resourceType', 'string', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
      attr('location', 'reference', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', { caseExact: true, mutability: 'readOnly' }),
    ],
    { description: 'Resource metadata.', mutability: 'readOnly' }
  ),
]
