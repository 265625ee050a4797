import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Connector, IngestAck } from '../core/connector.ts';
import type { UserDirectory } from '../core/directory.ts';
import type { Readiness } from '../runtime/hub.ts';
import type { PolicyStore } from '../state/policy-store.ts';
import type { SnapshotStore } from '../state/snapshots.ts';
import type { AccountStore } from './accounts.ts';
import type { AuditLog } from './audit.ts';
import type { DeliveryQueues } from './queues.ts';
import type { ReportRunner } from './reports.ts';
import type { OidcLogin } from './oidc.ts';
import type { SessionStore } from './sessions.ts';
import type { ApiTokenStore } from './tokens.ts';

/** What the admin API needs of the hub: ingest on Parley's own behalf (past the policy), and readiness. */
export interface AdminHub {
  ingestAsParley(input: unknown): Promise<IngestAck>;
  readiness(): Readiness;
}

export type ConnectorView = Pick<Connector, 'name' | 'platforms' | 'status' | 'counters'>;

export interface AdminContext {
  config: Readonly<Config>;
  log: Logger;
  hub: AdminHub;
  connectors: readonly ConnectorView[];
  redis: Redis;
  /** On a connection of its own: PolicyStore.update WATCHes its connection. */
  policy: PolicyStore;
  accounts: AccountStore;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  directory: UserDirectory;
  snapshots: SnapshotStore;
  queues: DeliveryQueues;
  reports: ReportRunner | undefined;
  audit: AuditLog;
  oidc: OidcLogin | undefined;
  /** Delivery retries per connector since start. */
  retries(): Promise<Record<string, number>>;
  /** The admin listener's bound port (for the Host/Origin checks). */
  port(): number;
}
