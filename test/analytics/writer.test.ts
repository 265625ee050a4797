import { openChdb, openServer, CLICKHOUSE_URL } from './support.ts';
import { writerContract } from './writer-contract.ts';

writerContract('chDB', () => openChdb());
writerContract('ClickHouse server (CLICKHOUSE_URL)', () => openServer(), !CLICKHOUSE_URL);
