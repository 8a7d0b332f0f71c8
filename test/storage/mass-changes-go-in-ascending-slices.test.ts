// A mass change (STORE, EXPUNGE, COPY, MOVE of many messages) is written in slices of ascending,
// distinct UIDs, whatever order the caller gave them in: each slice is one atomic write.
import { describe, expect, it } from 'vitest';
import { inSlices, SLICE } from '../../storage/engine/slices.ts';

async function slicesOf(uids: number[]): Promise<number[][]> {
  const out: number[][] = [];
  await inSlices(uids, async (slice) => void out.push(slice));
  return out;
}

describe('mass changes in slices', () => {
  it('takes ascending UIDs as they are, SLICE at a time', async () => {
    const uids = Array.from({ length: 2 * SLICE + 3 }, (_, i) => 3 * i + 1);
    const slices = await slicesOf(uids);
    expect(slices.map((s) => s.length)).toEqual([SLICE, SLICE, 3]);
    expect(slices.flat()).toEqual(uids);
  });

  it('writes the UIDs as they were at the call, whatever the caller does with its array meanwhile', async () => {
    const uids = Array.from({ length: 2 * SLICE }, (_, i) => i + 1);
    const out: number[][] = [];
    await inSlices(uids, async (slice) => {
      out.push(slice);
      uids.fill(0);
    });
    expect(out.flat()).toEqual(Array.from({ length: 2 * SLICE }, (_, i) => i + 1));
  });

  it('orders UIDs given out of order and drops repeats', async () => {
    const slices = await slicesOf([9, 2, 4_000_000_000, 2, 7, 9]);
    expect(slices).toEqual([[2, 7, 9, 4_000_000_000]]);
  });
});
