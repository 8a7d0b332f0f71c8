// Body ids that sort in the order the bodies were written. LevelDB is a log-structured merge tree:
// with random ids, each flush of new bodies spanned the key range of all older ones, so compaction
// rewrote old mail again and again (in the background, on the cores that serve clients) and a read
// looked into several levels. Ids in write order put new bodies after the old ones; compaction then
// moves files of old mail down without rewriting them, and a read finds its chunk in one file.
// (References to a body are keyed by its random tail first, see keys.ts: those are deleted in bulk.)
import { randomBytes } from 'node:crypto';
import { hex } from './keys.ts';

export class BodyIdSource {
  private last = 0;

  next(): string {
    // Milliseconds × 1024 leaves room for 1,024 ids a millisecond and stays an exact integer
    // (2^53 ≈ 9·10^15; Date.now() × 1024 ≈ 1.8·10^15) until the year 2248. Strictly increasing in
    // one process; the random tail keeps ids unique if the clock went back across a restart.
    this.last = Math.max(Date.now() * 1024, this.last + 1);
    return hex(this.last, 14) + randomBytes(6).toString('base64url');
  }
}
