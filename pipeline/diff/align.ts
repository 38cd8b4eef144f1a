/**
 * Alignment of the ordered diff: which EXPECTED packet goes with which ACTUAL packet, so that one
 * packet missing in the middle is reported as `#5 missing in ACTUAL` instead of every following
 * packet as changed.
 *
 * Identity of a packet: a hash of its bytes with the --ignore fields masked. Equal heads pair up
 * without further work. Where the heads differ, a Myers diff (the O(ND) shortest edit script)
 * over the next ALIGN_WINDOW packets of each side finds where the sequences meet again; the
 * deletions and insertions before that point are paired in order as changed packets, and the
 * surplus on one side is missing (EXPECTED) or extra (ACTUAL). When the sequences also meet
 * again in place, after no more changed pairs than that, the packets are changed in place (the
 * smaller edit when changes count like insertions and deletions). A gap longer than the window
 * cannot be seen: its packets are paired as changed, as without alignment.
 */

/**
 * Packets of each side looked at to align past a difference. 1024: a missing or extra run of up
 * to 1024 packets is recognised; the edit script's trace is at most (2·1024)² 32-bit numbers
 * (16 MB, only while a window has no packet in common), and the packets of the window hold their
 * input chunks (a few MB) alive.
 */
export const ALIGN_WINDOW = 1024;

/**
 * Where `a[aFrom, aFrom+n)` and `b[bFrom, bFrom+m)` meet again on a shortest edit script: the
 * number of packets of each side before the first pair of equal packets (both n and m when there
 * is none). The heads must differ.
 */
export function firstCommon(a: ArrayLike<number>, aFrom: number, n: number, b: ArrayLike<number>, bFrom: number, m: number): { del: number; ins: number } {
  const max = n + m;
  if (max === 0) return { del: 0, ins: 0 };
  // No packet in common (every packet changed, say): nothing to search for.
  const inB = new Set<number>();
  for (let j = 0; j < m; j++) inB.add(b[bFrom + j]!);
  let common = false;
  for (let i = 0; i < n && !common; i++) common = inB.has(a[aFrom + i]!);
  if (!common) return { del: n, ins: m };
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d]: v[k] for k in [-d, d] after step d (2d+1 values).
  const trace: Int32Array[] = [];
  let end = -1;
  for (let d = 0; d <= max && end < 0; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aFrom + x] === b[bFrom + y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        end = d;
        break;
      }
    }
    trace.push(v.slice(off - d, off + d + 1));
  }
  // Walk the path back from (n, m); remember the earliest snake (run of equal pairs).
  let x = n;
  let y = m;
  let first: { del: number; ins: number } = { del: n, ins: m };
  for (let d = end; d > 0; d--) {
    const prev = trace[d - 1]!; // index k + (d-1)
    const k = x - y;
    const at = (kk: number): number => prev[kk + d - 1]!;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const pk = down ? k + 1 : k - 1;
    const px = at(pk);
    const py = px - pk;
    const sx = down ? px : px + 1; // where this step's snake starts
    const sy = sx - k;
    if (x > sx) first = { del: sx, ins: sy };
    x = px;
    y = py;
  }
  // d = 0: a snake from (0, 0) means equal heads, which the caller has already paired.
  if (x > 0) first = { del: 0, ins: 0 };
  return first;
}
