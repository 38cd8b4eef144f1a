/**
 * Reading callgrind's counts of a Node run by function, JavaScript included. Callgrind names the
 * code V8 compiled at run time by address only (`???:0x000000000d076340`); node's
 * `--perf-basic-prof` writes a map of that code (`/tmp/perf-PID.map`: hex start, hex size, name
 * per line), which names each address. Instructions are what callgrind counts: the same binary on
 * the same input gives the same counts (within a fraction of a percent: V8 compiles on background
 * threads) however busy the machine is, where seconds on a shared VM swing by 2x.
 */

/** One line of a perf map: code at [start, start + size) named `name`. Later lines win. */
interface MapEntry {
  start: number;
  end: number;
  name: string;
  order: number;
}

export class PerfMap {
  private readonly entries: MapEntry[] = [];

  constructor(text: string) {
    let order = 0;
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/i.exec(line);
      if (!m) continue;
      const start = parseInt(m[1]!, 16);
      this.entries.push({ start, end: start + parseInt(m[2]!, 16), name: m[3]!, order: order++ });
    }
    this.entries.sort((a, b) => a.start - b.start);
  }

  /** The name of the code at `address`: of the last entry written that covers it (V8 reuses code space). */
  nameAt(address: number): string | undefined {
    let best: MapEntry | undefined;
    // Entries starting at or below the address, nearest first; code objects are small, so the
    // walk back stops once entries start far below any that could still cover it.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.start <= address) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && address - this.entries[i]!.start < 1 << 24; i--) {
      const e = this.entries[i]!;
      if (address < e.end && (!best || e.order > best.order)) best = e;
    }
    return best?.name;
  }
}

/**
 * A readable name: a JavaScript function as `name (chunk.js:line)`, tier marker, directories and
 * the bundler's content hash dropped (`JS:*processInto /x/dist/cli/run-core.tlrOGs2e.js:5871:16`
 * becomes `processInto (run-core.js:5871)`), so that the same function keeps its name across tiers;
 * V8 builtins and C++ as callgrind names them.
 */
export function readableName(name: string): string {
  const js = /^JS:[*^~+]?(.*) (?:\S*\/)?([^/\s]+?)(?:\.[A-Za-z0-9_-]{8})?\.(m?js):(\d+)(?::\d+)?$/.exec(name);
  if (js) return `${js[1] || '(anonymous)'} (${js[2]}.${js[3]}:${js[4]})`;
  const wasm = /^JS:(wasm-function\[\d+\])/.exec(name);
  if (wasm) return `WebAssembly ${wasm[1]}`;
  return name.replace(/^Builtin:/, 'Builtins_');
}

/**
 * Instructions per function from `callgrind_annotate` output (its function list: `count (pct)
 * file:function [object]`), code of unknown address named through `map`. Names are
 * `readableName`s; code the map does not cover is `(JIT code, unnamed)`. Returns the program's
 * total too.
 */
export function countsByFunction(annotated: string, map: PerfMap | null): { total: number; byFunction: Map<string, number> } {
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const count = Number(m[1]!.replace(/,/g, ''));
    const what = m[2]!;
    if (what.startsWith('PROGRAM TOTALS')) {
      total = count;
      continue;
    }
    let name: string;
    const jit = /^\?\?\?:0x([0-9a-f]+)(?:'\d+)? \[\?\?\?\]/.exec(what);
    if (jit) {
      const n = map?.nameAt(parseInt(jit[1]!, 16));
      name = n !== undefined ? readableName(n) : '(JIT code, unnamed)';
    } else {
      // `file:function [object]`: the function, without callgrind's recursion suffix.
      name = what
        .replace(/\s*\[[^\]]*\]\s*$/, '')
        .replace(/^[^:]*:/, '')
        .replace(/'\d+$/, '');
    }
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  }
  return { total, byFunction };
}

export interface PerPacket {
  /** Instructions per packet of the whole run beyond start-up and warm-up. */
  total: number;
  /** The same per function, largest first. */
  functions: { name: string; perPacket: number }[];
}

/**
 * What one more packet costs: the counts of a run on `large` packets less those of a run on
 * `small` packets of the same kind, divided by the packets between. Start-up, compilation and the
 * first packets' slower tiers are in both runs and cancel out.
 */
export function perPacket(
  small: { total: number; byFunction: Map<string, number>; packets: number },
  large: { total: number; byFunction: Map<string, number>; packets: number },
): PerPacket {
  const n = large.packets - small.packets;
  if (n <= 0) throw new Error('the large run needs more packets than the small one');
  const names = new Set([...small.byFunction.keys(), ...large.byFunction.keys()]);
  const functions = [...names]
    .map((name) => ({ name, perPacket: ((large.byFunction.get(name) ?? 0) - (small.byFunction.get(name) ?? 0)) / n }))
    .sort((a, b) => b.perPacket - a.perPacket);
  return { total: (large.total - small.total) / n, functions };
}
