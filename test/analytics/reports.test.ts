import { CLICKHOUSE_URL, openChdb, openServer } from './support.ts';
import { reportsContract } from './reports-contract.ts';

reportsContract('chDB', () => openChdb());
reportsContract('ClickHouse server (CLICKHOUSE_URL)', () => openServer(), !CLICKHOUSE_URL);
