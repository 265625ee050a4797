#!/usr/bin/env -S node --max-semi-space-size=64
// The young generation is 64 MB per semi-space (Node's default is 16): a message
// waits in memory for the far side (a server's backlog: tenths of a second), and
// with 16 MB it outlives two scavenges and is promoted, so every message costs
// old-generation GC work. Worker threads (the shards) inherit the flag.
// Runs the TypeScript CLI in this process through tsx's loader (a dependency).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
