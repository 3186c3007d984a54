import { GROUP_SCHEMA } from '../constants'
import { attr, complex, type SchemaDefinition } from './attribute'

/** RFC 7643 §4.2 and §8.7.1; displayName is required and unique per integration here. */
export const groupSchema: SchemaDefinition = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'string', {
      description: 'A human-readable name for the Group. Unique within an integration, compared case-insensitively.',
      required: true,
      uniqueness: 'server',
    }),
    complex(
      'members',
      [
        attr('value', 'string', { description: 'The id of a User or Group.', caseExact: true, mutability: 'immutable' }),
        attr('$ref', 'reference', { description: 'The URI of the member.', mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', { description: "The member's display name.", mutability: 'readOnly' }),
        attr('type', 'string', { description: 'User or Group.', mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
      { multiValued: true, description: 'A list of members of the Group.', rows: true }
    ),
  ],
}
