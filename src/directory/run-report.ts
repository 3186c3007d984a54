import * as z from 'zod'

/*
 * A run's report: what its listing found, by kind of change, with the first REPORT_SAMPLE users of
 * each kind and why. Every page builds one for what it saw; the Workflow adds them up (step outputs,
 * so a resumed run adds the same ones); the run keeps the sum. A dry run's report is its result:
 * what a real run would have done.
 */

export const REPORT_SAMPLE = 100

export const REPORT_KINDS = ['created', 'updated', 'restored', 'archived', 'removed', 'skipped'] as const
export type ReportKind = (typeof REPORT_KINDS)[number]

const entrySchema = z.object({ sourceId: z.string(), userName: z.string().nullable(), reason: z.string() })
export type ReportEntry = z.infer<typeof entrySchema>

const kindSchema = z.object({ count: z.number(), users: z.array(entrySchema) })

export const runReportSchema = z.object({
  created: kindSchema,
  updated: kindSchema,
  restored: kindSchema,
  archived: kindSchema,
  removed: kindSchema,
  skipped: kindSchema,
  /** Of the created users, those disabled at the source (created archived). */
  createdInactive: z.number().default(0),
  /** A dry run: why a real run would be held by the import safeguard, or null. */
  wouldHold: z.string().nullable().optional(),
})
export type RunReport = z.infer<typeof runReportSchema>

export const emptyReport = (): RunReport => ({
  created: { count: 0, users: [] },
  updated: { count: 0, users: [] },
  restored: { count: 0, users: [] },
  archived: { count: 0, users: [] },
  removed: { count: 0, users: [] },
  skipped: { count: 0, users: [] },
  createdInactive: 0,
})

export function noteChange(report: RunReport, kind: ReportKind, entry: ReportEntry) {
  report[kind].count++
  if (report[kind].users.length < REPORT_SAMPLE) report[kind].users.push(entry)
}

/** Adds `part` (a page's report) into `into`, keeping the first REPORT_SAMPLE users of each kind. */
export function addReport(into: RunReport, part: RunReport | undefined) {
  if (!part) return
  for (const kind of REPORT_KINDS) {
    into[kind].count += part[kind].count
    into[kind].users.push(...part[kind].users.slice(0, REPORT_SAMPLE - into[kind].users.length))
  }
  into.createdInactive += part.createdInactive
}

/** The active users an integration would have once a run's creates and restores are written. */
export const activeAfterWrites = (activeUsers: number, report: RunReport) =>
  activeUsers + report.created.count - report.createdInactive + report.restored.count

export function parseReport(text: string | null): RunReport | null {
  if (!text) return null
  const parsed = runReportSchema.safeParse(JSON.parse(text))
  return parsed.success ? parsed.data : null
}
