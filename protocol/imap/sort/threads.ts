// THREAD (RFC 5256 3): ORDEREDSUBJECT and REFERENCES over messages already matched by the search
// criteria, and the thread-list syntax of the answer. Each message comes with its number (sequence
// or UID, as the answer wants it), its sent date and its SORT fields. Ties of sent date fall back
// to mailbox order (the order of the input). Both give the event loop back every RUN messages or
// lists (invariant 10: long work yields), and sort long lists in slices (../in-slices.ts).
import type { SortFields } from './sort-fields.ts';
import { breathe, joinInSlices, RUN, sortInSlices } from '../in-slices.ts';

export interface ThreadInput {
  /** The number the answer shows (sequence number or UID). */
  n: number;
  sent: number;
  f: SortFields;
}

/** A thread node; no `msg` is a dummy (a message referenced but not among the input). */
interface Node {
  msg?: ThreadInput;
  /** Input position: the tie-breaker after the sent date. */
  order: number;
  parent?: Node;
  children: Node[];
}

/** The node a node sorts as: itself, or for a dummy its first child (children are sorted first). */
function sortedAs(n: Node): Node {
  while (!n.msg && n.children[0]) n = n.children[0];
  return n;
}

/** By sent date, then by mailbox order. */
function byDate(a: Node, b: Node): number {
  const x = sortedAs(a);
  const y = sortedAs(b);
  return (x.msg?.sent ?? Infinity) - (y.msg?.sent ?? Infinity) || x.order - y.order;
}

/**
 * Every list of siblings sorted by sent date, the deepest first, so that a dummy's key (its first
 * child) is settled before its siblings sort: the lists in breadth-first order, sorted from the last.
 */
async function sortTree(roots: Node[]): Promise<void> {
  const lists: Node[][] = [roots];
  for (let i = 0; i < lists.length; i++) for (const n of lists[i]!) if (n.children.length) lists.push(n.children);
  for (let i = lists.length - 1; i >= 0; i--) {
    const list = lists[i]!;
    if (list.length > RUN) {
      const sorted = await sortInSlices(list, byDate);
      for (let k = 0; k < sorted.length; k++) list[k] = sorted[k]!;
    } else if (list.length > 1) list.sort(byDate);
    if (i % RUN === 0) await breathe();
  }
}

/** thread-list syntax: a chain of single children in one list, several children as nested lists. */
function render(n: Node): string {
  const parts: string[] = [];
  let cur = n;
  for (;;) {
    if (cur.msg) parts.push(String(cur.msg.n));
    if (cur.children.length !== 1 || !cur.msg) break;
    cur = cur.children[0]!;
  }
  const nested = cur.children.length > 1 || (!cur.msg && cur.children.length) ? cur.children.map((c) => `(${render(c)})`).join('') : '';
  return [parts.join(' '), nested].filter(Boolean).join(' ');
}

const formatThreads = (roots: readonly Node[]): Promise<string> => joinInSlices(roots, (r) => `(${render(r)})`);

/**
 * ORDEREDSUBJECT: messages grouped by base subject; each group is a thread whose first message (by
 * sent date) is the parent of all the others; threads in the order of their first message.
 */
export async function orderedSubject(input: readonly ThreadInput[]): Promise<string> {
  const groups = new Map<string, Node>();
  const roots: Node[] = [];
  const sorted = await sortInSlices(input.map((msg, order) => ({ msg, order, children: [] as Node[] })), byDate);
  for (const [i, node] of sorted.entries()) {
    if (i > 0 && i % RUN === 0) await breathe();
    const root = groups.get(node.msg.f.subject);
    if (root) root.children.push(node);
    else {
      groups.set(node.msg.f.subject, node);
      roots.push(node);
    }
  }
  return formatThreads(roots);
}

const isAncestor = (maybe: Node, of: Node): boolean => {
  for (let p: Node | undefined = of; p; p = p.parent) if (p === maybe) return true;
  return false;
};

function link(parent: Node, child: Node): void {
  if (child.parent === parent || isAncestor(child, parent)) return;
  if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = parent;
  parent.children.push(child);
}

/** REFERENCES: Zawinski's algorithm as RFC 5256 3 fixes it, steps (1) to (6). */
export async function references(input: readonly ThreadInput[]): Promise<string> {
  const byId = new Map<string, Node>();
  const container = (id: string): Node => {
    let c = byId.get(id);
    if (!c) byId.set(id, (c = { order: Infinity, children: [] }));
    return c;
  };
  const all: Node[] = [];
  for (const [order, msg] of input.entries()) {
    if (order > 0 && order % RUN === 0) await breathe();
    // (1) a missing or duplicate Message-ID makes the message a thread of its own making
    const id = msg.f.messageId;
    let node = id ? byId.get(id) : undefined;
    if (!node || node.msg) {
      node = { order, children: [] };
      if (id && !byId.has(id)) byId.set(id, node);
    }
    node.msg = msg;
    node.order = order;
    all.push(node);
    // (1A) link each reference to the next, unless that one has a parent already
    const refs = msg.f.references.filter((r) => r !== id);
    for (let i = 1; i < refs.length; i++) {
      const parent = container(refs[i - 1]!);
      const child = container(refs[i]!);
      if (!child.parent) link(parent, child);
    }
    // (1B) the last reference is the message's parent: whatever parent it had goes first, and no
    // loop is made (then it stays a root)
    if (node.parent) {
      node.parent.children.splice(node.parent.children.indexOf(node), 1);
      node.parent = undefined;
    }
    const last = refs[refs.length - 1];
    if (last) link(container(last), node);
  }
  // (2) the root set
  const roots = [...new Set([...byId.values(), ...all])].filter((n) => !n.parent);
  // (3) prune dummies: childless ones go, the others give way to their children — at the top level
  // only when they have a single child
  const prune = (nodes: Node[], top: boolean): Node[] => {
    const out: Node[] = [];
    for (const n of nodes) {
      n.children = prune(n.children, false);
      if (n.msg) out.push(n);
      else if (n.children.length === 0) continue;
      else if (!top || n.children.length === 1) {
        for (const c of n.children) c.parent = n.parent;
        out.push(...n.children);
      } else out.push(n);
    }
    for (const n of out) if (top) n.parent = undefined;
    return out;
  };
  let top = prune(roots, true);
  // (4) sort the top level by sent date (a dummy by its first child)
  await sortTree(top);
  // (5) threads whose roots share a base subject come together
  const subjectOf = (n: Node) => (n.msg ?? n.children[0]?.msg)!.f;
  const table = new Map<string, Node>();
  for (const [i, n] of top.entries()) {
    if (i > 0 && i % RUN === 0) await breathe();
    const s = subjectOf(n).subject;
    if (!s) continue;
    const had = table.get(s);
    if (!had || (!n.msg && had.msg) || (had.msg && subjectOf(had).reply && n.msg && !subjectOf(n).reply)) table.set(s, n);
  }
  const merged: Node[] = [];
  for (const [i, n] of top.entries()) {
    if (i > 0 && i % RUN === 0) await breathe();
    if (n.parent) continue; // already merged under another root
    const s = subjectOf(n).subject;
    const into = s ? table.get(s) : undefined;
    if (!into || into === n) {
      merged.push(n);
      continue;
    }
    if (!into.msg && !n.msg) {
      for (const c of n.children) c.parent = into;
      into.children.push(...n.children);
    } else if (!into.msg) {
      n.parent = into;
      into.children.push(n);
    } else if (!n.msg) {
      // the table holds a message and this is a dummy: the message joins the dummy's children
      const at = merged.indexOf(into);
      into.parent = n;
      n.children.push(into);
      table.set(s, n);
      if (at >= 0) merged[at] = n;
      else merged.push(n);
    } else if (subjectOf(n).reply && !subjectOf(into).reply) {
      n.parent = into;
      into.children.push(n);
    } else {
      const dummy: Node = { order: Infinity, children: [into, n] };
      into.parent = dummy;
      n.parent = dummy;
      const at = merged.indexOf(into);
      if (at >= 0) merged[at] = dummy;
      else merged.push(dummy);
      table.set(s, dummy);
    }
  }
  // (6) every set of siblings by sent date, the deepest first
  top = merged;
  await sortTree(top);
  return formatThreads(top);
}
