// Read-ahead for FETCH of message bodies. Asking the store for one small body costs a round trip
// through LevelDB's thread worth ~50 KB of copying, so a FETCH of a thousand small messages was
// paced by lookups, and a large body was read one store chunk at a time with nothing overlapping.
// Here the bodies of a batch are cut into segments and asked for in groups (one round trip each),
// and the next group is read while the current one is written.
import type { BodyRange, MailStore } from '../../../storage/types.ts';

/**
 * Longest segment. Segments are aligned to multiples of it, and it is a multiple of any sensible
 * store chunk size (a power of two), so two segments of one body never ask for the same chunk.
 */
const SEGMENT = 1 << 20;
/** One group's bytes: the group being written and the next one are held at most. */
const GROUP_BYTES = 2 << 20;
const GROUP_SEGMENTS = 128;

interface Group {
  readonly segments: BodyRange[];
  read?: Promise<Buffer[][]>;
}

interface Place {
  group: number;
  index: number;
}

export class BodyReadAhead {
  private readonly groups: Group[] = [];
  private readonly places = new Map<BodyRange, Place[]>();

  /** Plans the reads of `ranges`, which must then be read in this order. */
  constructor(private readonly store: MailStore, ranges: Iterable<BodyRange>, private readonly account?: string) {
    let group: BodyRange[] = [];
    let bytes = 0;
    for (const r of ranges) {
      const places: Place[] = [];
      for (let start = r.start; start < r.end; ) {
        const end = Math.min(r.end, (Math.floor(start / SEGMENT) + 1) * SEGMENT);
        if (group.length && (bytes + end - start > GROUP_BYTES || group.length >= GROUP_SEGMENTS)) {
          this.groups.push({ segments: group });
          group = [];
          bytes = 0;
        }
        places.push({ group: this.groups.length, index: group.length });
        group.push({ bodyId: r.bodyId, start, end });
        bytes += end - start;
        start = end;
      }
      this.places.set(r, places);
    }
    if (group.length) this.groups.push({ segments: group });
  }

  /**
   * Waits for the first group, so that a store failure can still be answered with NO before the
   * batch's first line is written (a failure later, mid-stream, can only cut the connection).
   */
  async ready(): Promise<void> {
    const first = this.groups[0];
    if (!first) return;
    const read = this.start(first);
    if (this.groups[1]) this.start(this.groups[1]);
    await read;
  }

  /** The bytes of a planned range, in order. Reading a group starts reading the next one. */
  async *read(range: BodyRange): AsyncIterable<Buffer> {
    const places = this.places.get(range);
    if (!places) throw new Error('body range was not planned for read-ahead');
    for (const { group: g, index } of places) {
      const group = this.groups[g]!;
      const read = this.start(group);
      const next = this.groups[g + 1];
      if (next) this.start(next);
      const chunks = (await read)[index]!;
      if (index === group.segments.length - 1) group.read = undefined; // all of it written or queued
      yield* chunks;
    }
  }

  private start(group: Group): Promise<Buffer[][]> {
    if (!group.read) {
      group.read = this.store.readBodies(group.segments, this.account);
      // Read early, awaited later: a failure must not count as unhandled in between.
      group.read.catch(() => undefined);
    }
    return group.read;
  }
}
