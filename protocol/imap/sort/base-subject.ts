// The base subject of RFC 5256 2.1, which SORT SUBJECT and both THREAD algorithms compare: the
// subject decoded, whitespace collapsed, with the reply/forward decorations ("Re:", "Fwd:", "[list]",
// "(fwd)", "[fwd: …]") taken off, as i;unicode-casemap compares it (case folded). `reply` says
// whether a reply or forward decoration was taken off, which THREAD=REFERENCES needs (3, step 5).

export interface BaseSubject {
  key: string;
  reply: boolean;
}

const TRAILER = /(?:\(fwd\)| )$/i;
// subj-blob = "[" *BLOBCHAR "]" *WSP; subj-refwd = ("re" / "fw" ["d"]) *WSP [subj-blob] ":"
const BLOB = /^\[[^[\]]*\] */;
const REFWD = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i;

export function baseSubject(decoded: string): BaseSubject {
  let s = decoded.replace(/[\t\r\n ]+/g, ' ').trim();
  let reply = false;
  for (;;) {
    // (2) trailers
    while (TRAILER.test(s)) {
      if (s.endsWith(')')) reply = true;
      s = s.replace(TRAILER, '');
    }
    // (3)–(5) leaders and blobs, until nothing changes
    for (let changed = true; changed;) {
      changed = false;
      const lead = REFWD.exec(s);
      if (lead) {
        s = s.slice(lead[0].length).replace(/^ +/, '');
        reply = changed = true;
        continue;
      }
      if (s.startsWith(' ')) {
        s = s.trimStart();
        changed = true;
        continue;
      }
      const blob = BLOB.exec(s);
      if (blob && blob[0].length < s.length) {
        s = s.slice(blob[0].length);
        changed = true;
      }
    }
    // (6) "[fwd: … ]" wraps a forwarded subject: unwrap and start over
    if (/^\[fwd:/i.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1).trim();
      reply = true;
      continue;
    }
    return { key: s.toUpperCase(), reply };
  }
}
