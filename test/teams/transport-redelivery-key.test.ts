import type { Activity } from 'botbuilder';
import { describe, expect, it } from 'vitest';
import { redeliveryKey } from '../../src/connectors/teams/transport/ingress.ts';

const act = (a: Partial<Activity>): Activity => ({ conversation: { id: 'a:1' }, ...a }) as Activity;

describe('teams transport: what makes an activity a redelivery', () => {
  it('a message is known by its id; an edit or delete of it is not the message again', () => {
    const msg = redeliveryKey(act({ type: 'message', id: '1700', timestamp: '2026-01-01T00:00:00Z' as unknown as Date }));
    const edit1 = redeliveryKey(act({ type: 'messageUpdate', id: '1700', timestamp: '2026-01-01T00:01:00Z' as unknown as Date }));
    const edit2 = redeliveryKey(act({ type: 'messageUpdate', id: '1700', timestamp: '2026-01-01T00:02:00Z' as unknown as Date }));
    const del = redeliveryKey(act({ type: 'messageDelete', id: '1700', timestamp: '2026-01-01T00:02:00Z' as unknown as Date }));
    expect(msg).toBe('1700');
    expect(new Set([msg, edit1, edit2, del]).size).toBe(4);
    // The redelivery of an edit repeats it unchanged.
    expect(redeliveryKey(act({ type: 'messageUpdate', id: '1700', timestamp: '2026-01-01T00:01:00Z' as unknown as Date }))).toBe(edit1);
    expect(redeliveryKey(act({ type: 'typing' }))).toBeUndefined();
  });
});
