// ESLint flat config: typescript-eslint's recommended rules, plus the one architectural rule a
// reviewer cannot keep by eye: src/scim/ is the protocol as pure functions, so it imports nothing
// of the runtime, the database or the other layers.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', '.wrangler/', '.bench/', '.load/', 'worker-configuration.d.ts', 'migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      // `_name` marks a value deliberately left unused (destructuring it away, a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'test/e2e/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // Browser tests run code in the page too (page.evaluate).
    files: ['test/e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['src/scim/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['hono', 'hono/*'], message: 'src/scim/ is pure protocol code: no HTTP framework.' },
            { group: ['cloudflare:*'], message: 'src/scim/ is pure protocol code: no Workers runtime.' },
            { group: ['drizzle-orm', 'drizzle-orm/*'], message: 'src/scim/ is pure protocol code: no database.' },
            {
              group: [
                '**/directory',
                '**/directory/*',
                '**/http',
                '**/http/*',
                '**/sync',
                '**/sync/*',
                '**/admin',
                '**/admin/*',
                '**/auth',
                '**/auth/*',
              ],
              message: 'src/scim/ may not import the layers above it (directory, http, sync, admin, auth).',
            },
          ],
        },
      ],
    },
  },
  {
    // src/directory/ is the only writer of the directory: nothing else builds SQL or reaches its tables.
    files: ['src/**/*.ts'],
    ignores: ['src/directory/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['drizzle-orm', 'drizzle-orm/*'], message: 'Only src/directory/ talks to D1; call a function there.' },
            {
              group: ['**/directory/schema'],
              allowTypeImports: true,
              message: 'Only src/directory/ reaches the tables; import their row types only.',
            },
          ],
        },
      ],
    },
  }
)
