/** The standalone worker's notice while its server is away: one line, then one reminder a minute. */
import { describe, expect, it } from 'vitest';
import { throttledRetryNotice } from '../client/server/quietLogs.js';

describe('throttledRetryNotice', () => {
  it('says it once, then at most once a minute with the count of retries it hid', () => {
    const lines: string[] = [];
    let t = 1_000_000;
    const notice = throttledRetryNotice('localhost:7233', (l) => lines.push(l), () => t);
    for (let i = 0; i < 30; i++, t += 1000) notice(); // 30 retries over 30 s
    expect(lines).toEqual(['warning: the Temporal server at localhost:7233 cannot be reached; the worker keeps retrying (Ctrl-C to stop)\n']);
    for (let i = 0; i < 31; i++, t += 1000) notice(); // up to 60 s after the first line
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('warning: the Temporal server at localhost:7233 is still unreachable (60 retries in the last 60 s)\n');
  });
});
