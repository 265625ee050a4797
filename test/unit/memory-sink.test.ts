import { describe, expect, it } from 'vitest';
import { MemorySink } from '../../analytics/sink.ts';
import type { MetadataEvent } from '../../src/core/metadata.ts';

const row = (i: number) => ({ messageId: `m${i}` }) as MetadataEvent;

describe('MemorySink', () => {
  it('stays within its limit, dropping the oldest rows and counting them', () => {
    const sink = new MemorySink(100);
    for (let i = 0; i < 1000; i++) sink.write([row(i)]);
    expect(sink.events.length).toBeLessThanOrEqual(100);
    expect(sink.events.length).toBeGreaterThanOrEqual(90);
    expect(sink.events.at(-1)?.messageId).toBe('m999');
    expect(sink.dropped + sink.events.length).toBe(1000);
  });
});
