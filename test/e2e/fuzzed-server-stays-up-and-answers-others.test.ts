// The fuzzer's short run (bench/fuzz.ts has the long one): random and mutated sessions of every
// protocol against a live server for a few seconds; it stays up, its memory stays bounded, and a
// well-behaved client beside them is answered correctly throughout.
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../bench/fuzz.ts';

describe('socket-level fuzzing', () => {
  it('leaves the server up, bounded, and correct for a well-behaved client', async () => {
    const seed = Number(process.env.TEGAMI_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const r = await runFuzz({ seconds: 12, seed, workers: 3 });
    expect({ seed, crashes: r.crashes, wrong: r.wellBehaved.wrong }).toEqual({ seed, crashes: 0, wrong: [] });
    expect(r.sessionsThrown).toBeGreaterThan(20);
    expect(r.wellBehaved.rounds).toBeGreaterThan(1);
    expect(r.peakRssMB - r.startRssMB).toBeLessThan(256);
  }, 60_000);
});
