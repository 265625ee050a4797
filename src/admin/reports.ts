import type { ReportName } from '../../analytics/reports.ts';

/** Runs a typed analytics report (AnalyticsStore.report). */
export interface ReportRunner {
  run(name: ReportName, params: Record<string, string | number>): Promise<Array<Record<string, unknown>>>;
}
