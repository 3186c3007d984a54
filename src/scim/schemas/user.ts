import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from '../constants'
import { attr, complex, multiValued, type SchemaDefinition } from './attribute'

/** RFC 7643 §4.1 and §8.7.1. */
export const userSchema: SchemaDefinition = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', {
      description: 'Unique identifier for the User, typically used to sign in. Compared case-insensitively.',
      required: true,
      uniqueness: 'server',
    }),
    complex(
      'name',
      [
        attr('formatted', 'string', { description: 'The full name, formatted for display.' }),
        attr('familyName', 'string', { description: 'The family name (last name).' }),
        attr('givenName', 'string', { description: 'The given name (first name).' }),
        attr('middleName', 'string', { description: 'The middle name(s).' }),
        attr('honorificPrefix', 'string', { description: 'The honorific prefix(es), e.g. "Ms.".' }),
        attr('honorificSuffix', 'string', { description: 'The honorific suffix(es), e.g. "III".' }),
      ],
      { description: "The components of the user's real name." }
    ),
    attr('displayName', 'string', { description: 'The name of the User, suitable for display.' }),
    attr('nickName', 'string', { description: 'The casual way to address the user.' }),
    attr('profileUrl', 'reference', { description: "URL of the user's online profile.", referenceTypes: ['external'] }),
    attr('title', 'string', { description: 'The user\'s title, such as "Vice President".' }),
    attr('userType', 'string', { description: 'The relationship between the organization and the user.' }),
    attr('preferredLanguage', 'string', { description: 'Preferred written or spoken language, e.g. "en-US".' }),
    attr('locale', 'string', { description: 'Default location for localizing currency, dates and numbers.' }),
    attr('timezone', 'string', { description: 'Time zone in IANA format, e.g. "America/Los_Angeles".' }),
    attr('active', 'boolean', { description: "The user's administrative status. false archives the user." }),
    attr('password', 'string', {
      description: 'Accepted for compatibility and never stored or returned.',
      mutability: 'writeOnly',
      returned: 'never',
    }),
    multiValued('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
    multiValued('phoneNumbers', 'Phone numbers for the user.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multiValued('ims', 'Instant messaging addresses for the user.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multiValued('photos', 'URLs of photos of the user.', ['photo', 'thumbnail'], 'reference', [], ['external']),
    complex(
      'addresses',
      [
        attr('formatted', 'string', { description: 'The full mailing address, formatted for display.' }),
        attr('streetAddress', 'string', { description: 'The full street address component.' }),
        attr('locality', 'string', { description: 'The city or locality component.' }),
        attr('region', 'string', { description: 'The state or region component.' }),
        attr('postalCode', 'string', { description: 'The zip code or postal code component.' }),
        attr('country', 'string', { description: 'The country name component (ISO 3166-1 alpha-2).' }),
        attr('type', 'string', {
          description: 'A label indicating the function of this address.',
          canonicalValues: ['work', 'home', 'other'],
        }),
        attr('primary', 'boolean', { description: 'Whether this is the primary address.' }),
      ],
      { multiValued: true, description: 'Physical mailing addresses for this user.' }
    ),
    complex(
      'groups',
      [
        attr('value', 'string', { description: 'The id of the group.', caseExact: true, mutability: 'readOnly' }),
        attr('$ref', 'reference', { description: 'The URI of the group.', mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', { description: "The group's displayName.", mutability: 'readOnly' }),
        attr('type', 'string', {
          description: 'direct or indirect membership.',
          mutability: 'readOnly',
          canonicalValues: ['direct', 'indirect'],
        }),
      ],
      {
        multiValued: true,
        mutability: 'readOnly',
        description: 'Groups the user belongs to, derived from group memberships. Change membership through the Group.',
      }
    ),
    multiValued('entitlements', 'Entitlements the user has.', []),
    multiValued('roles', 'Roles for the user.', []),
    multiValued('x509Certificates', 'Certificates issued to the user.', [], 'binary'),
  ],
}

/** RFC 7643 §4.3 and §8.7.1. */
export const enterpriseUserSchema: SchemaDefinition = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', { description: 'Numeric or alphanumeric identifier assigned to a person.' }),
    attr('costCenter', 'string', { description: 'Identifies the name of a cost center.' }),
    attr('organization', 'string', { description: 'Identifies the name of an organization.' }),
    attr('division', 'string', { description: 'Identifies the name of a division.' }),
    attr('department', 'string', { description: 'Identifies the name of a department.' }),
    complex(
      'manager',
      [
        attr('value', 'string', { description: 'The id of the SCIM resource representing the manager.' }),
        attr('$ref', 'reference', { description: 'The URI of the manager.', referenceTypes: ['User'] }),
        attr('displayName', 'string', { description: "The manager's displayName.", mutability: 'readOnly' }),
      ],
      { description: "The user's manager." }
    ),
  ],
}
