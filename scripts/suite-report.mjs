#!/usr/bin/env node
// `npm run fuzz` and `npm run faults`: a test suite run for its figures, written into
// docs/reliability.md (scripts/reliability-doc.mjs). The figures come from the run itself: vitest's
// JSON report (tests passed and failed) and, for the fuzz suite, the cases each property ran.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './host.mjs'
import { writeReliabilityRow } from './reliability-doc.mjs'

const SUITES = {
  fuzz: { files: ['test/integration/fuzz-http.test.ts'], env: { FUZZ_RUNS: process.env.FUZZ_RUNS ?? '1000' } },
  faults: {
    files: [
      'test/integration/faults.test.ts',
      'test/integration/sync-graph.test.ts',
      'test/integration/sync-google.test.ts',
      'test/integration/sync-runs.test.ts',
      'test/integration/sync-interrupted.test.ts',
      'test/integration/sync-replayed-steps.test.ts',
      'test/integration/sync-chaos.test.ts',
      'test/integration/encryption-rotation.test.ts',
      'test/integration/sync-dead-runs.test.ts',
      'test/integration/sync-safeguard.test.ts',
      'test/integration/failed-auth.test.ts',
    ],
    env: {},
  },
}
const name = process.argv[2]
const suite = SUITES[name]
if (!suite) {
  console.error(`usage: node scripts/suite-report.mjs ${Object.keys(SUITES).join('|')}`)
  process.exit(2)
}
const out = join(root, `.${name}-report.json`)
const run = spawnSync(
  join(root, 'node_modules', '.bin', 'vitest'),
  ['run', ...suite.files, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
  {
    cwd: root,
    env: { ...process.env, ...suite.env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }
)
process.stdout.write(run.stdout)
process.stderr.write(run.stderr)
const report = JSON.parse(readFileSync(out, 'utf8'))
rmSync(out, { force: true })
const passed = report.numPassedTests
const failed = report.numFailedTests
const env = Object.entries(suite.env)
  .map(([k, v]) => `${k}=${v} `)
  .join('')
if (name === 'fuzz') {
  const cases = [...run.stdout.matchAll(/fuzz cases: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
  writeReliabilityRow(
    'fuzz',
    `| \`${env}npm run fuzz\` | ${cases.toLocaleString('en-US')} fuzz cases, ${passed + failed} tests | ${failed} tests failed (a 5xx, a malformed error, a hang or a partial write fails one) | ${failed === 0 ? 'no partial write, no prototype polluted' : 'see the run'} |`
  )
} else {
  writeReliabilityRow(
    'faults',
    `| \`npm run faults\` | ${(passed + failed).toLocaleString('en-US')} fault scenarios (${suite.files.length} suites) | ${failed} failed | ${passed} survived with nothing lost |`
  )
}
process.exit(run.status ?? 1)
