/**
 * `capflow/vitest`: golden-file assertions for vitest.
 *
 *   import 'capflow/vitest';
 *   await expect('out/result.pcapng').toMatchPcap('test/golden/encap.pcapng', { ignore: ['ipv4.id'] });
 *   await expect(packets).toMatchPcap('test/golden/encap.pcapng');
 *
 * Importing this module registers the matcher with `expect.extend` and declares it on vitest's
 * `Matchers` (so `Assertion` and `expect.extend` are typed). The received value is a capture
 * path, or an array / iterable / async iterable of Packets (e.g. a Pipeline's output). On
 * failure the message is the `capflow diff` report.
 *
 * Updating: with CAPFLOW_UPDATE_GOLDEN=1 in the environment, or under `vitest -u` (the snapshot
 * state's update mode `all`), a golden file that differs is rewritten from the received packets,
 * atomically, in the format its extension names (.pcap / .pcapng, optionally .gz). A golden file
 * that does not exist yet is also written in vitest's default local mode (`new`, like a new
 * snapshot) but not on CI (`none`), where the assertion fails instead.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stat } from 'node:fs/promises';
import { expect, type MatcherState } from 'vitest';
import type { Packet } from './packet.js';
import { openCapture } from './pcap/reader.js';
import { createFileWriter, formatFromPath, type CaptureWriter } from './pcap/writer.js';
import { diffCaptures, type PacketSource } from './diff/diff.js';
import { formatDiff } from './diff/report.js';
import { packetComments } from './diff/compare.js';

export interface MatchPcapOptions {
  /** Fields masked before comparing (as `capflow diff --ignore`). */
  ignore?: readonly string[];
  /** Match packets regardless of order. */
  unordered?: boolean;
  /** Differences listed in the failure message (default 20; 0 = all). */
  max?: number;
  /** UDP ports decoded as VXLAN (default 4789, 8472). */
  vxlanPorts?: readonly number[];
  /** Force (true) or forbid (false) rewriting the golden file, whatever the environment says. */
  update?: boolean;
}

declare module 'vitest' {
  interface Matchers<T = any> {
    /**
     * Compare a capture (path, or packets) with the golden capture at `golden`, field by field.
     * Async: `await expect(x).toMatchPcap(path)`.
     */
    toMatchPcap(golden: string, options?: MatchPcapOptions): Promise<void>;
  }
}

type UpdateMode = 'all' | 'new' | 'none';

/** What the update decision reads of vitest's snapshot state (vitest 4: `snapshotUpdateState`; older: `_updateSnapshot`). */
export interface SnapshotUpdateSource {
  snapshotUpdateState?: string;
  _updateSnapshot?: string;
}

/**
 * How the golden file may be written: CAPFLOW_UPDATE_GOLDEN=1 (any value but '', '0', 'false')
 * or `vitest -u`: 'all'; vitest's local default: 'new' (missing files only); CI: 'none'.
 */
export function goldenUpdateMode(state: SnapshotUpdateSource | undefined, env: NodeJS.ProcessEnv = process.env): UpdateMode {
  const flag = env.CAPFLOW_UPDATE_GOLDEN;
  if (flag !== undefined && flag !== '' && flag !== '0' && flag !== 'false') return 'all';
  const mode = state?.snapshotUpdateState ?? state?._updateSnapshot;
  return mode === 'all' || mode === 'new' ? mode : 'none';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function describeReceived(x: PacketSource): string {
  if (typeof x === 'string') return x;
  if (Array.isArray(x)) return `${x.length} packets`;
  return 'the received packets';
}

function isPacketSource(x: unknown): x is PacketSource {
  if (typeof x === 'string') return true;
  if (x === null || typeof x !== 'object') return false;
  return Symbol.iterator in x || Symbol.asyncIterator in x;
}

/** The matcher (registered on import; exported for a custom `expect`). */
export async function toMatchPcap(this: MatcherState, received: unknown, golden: string, options: MatchPcapOptions = {}) {
  if (!isPacketSource(received)) {
    throw new TypeError('toMatchPcap: expected a capture path or an (async) iterable of Packets');
  }
  if (typeof golden !== 'string') throw new TypeError('toMatchPcap: the golden file must be a path');
  const mode: UpdateMode =
    options.update === true ? 'all' : options.update === false || this.isNot ? 'none' : goldenUpdateMode(this.snapshotState as unknown as SnapshotUpdateSource | undefined);
  let source: PacketSource = received;
  // A one-pass source is kept so it can be both compared and written.
  if (mode !== 'none' && typeof source !== 'string' && !Array.isArray(source)) source = await collect(source);
  const what = describeReceived(source);

  if (!(await exists(golden))) {
    if (mode === 'none') {
      return {
        pass: false,
        message: () =>
          `golden capture ${golden} does not exist; create it with CAPFLOW_UPDATE_GOLDEN=1 (or vitest -u) to accept ${what} as it`,
      };
    }
    await writeGolden(golden, source);
    return { pass: true, message: () => `wrote golden capture ${golden}` };
  }

  const result = await diffCaptures(golden, source, {
    ignore: options.ignore ?? [],
    unordered: options.unordered ?? false,
    max: options.max ?? 20,
    ...(options.vxlanPorts ? { vxlanPorts: options.vxlanPorts } : {}),
  });
  if (!result.equal && mode === 'all') {
    await writeGolden(golden, source);
    return { pass: true, message: () => `updated golden capture ${golden}` };
  }
  return {
    pass: result.equal,
    message: () =>
      result.equal
        ? `expected ${what} to differ from golden capture ${golden}, but they are equal`
        : `expected ${what} to match golden capture ${golden} (EXPECTED = golden, ACTUAL = received)\n\n${formatDiff(result)}\n` +
          'If the change is intended, rerun with CAPFLOW_UPDATE_GOLDEN=1 (or vitest -u) to rewrite the golden file.',
  };
}

async function collect(it: Iterable<Packet> | AsyncIterable<Packet>): Promise<Packet[]> {
  const out: Packet[] = [];
  for await (const p of it) out.push(p);
  return out;
}

/**
 * Write `source` to `path` atomically (the writer's temp name + rename), in the format of its
 * extension (.pcapng when the extension says nothing). pcapng keeps comments and metadata.
 */
export async function writeGolden(path: string, source: PacketSource): Promise<void> {
  const byName = formatFromPath(path);
  const format = byName?.format ?? 'pcapng';
  await mkdir(dirname(path), { recursive: true });
  const packets: AsyncIterable<Packet> | Iterable<Packet> = typeof source === 'string' ? readAll(source) : source;
  let writer: CaptureWriter | null = null;
  const ifaces = new Map<string, number>();
  try {
    for await (const p of packets) {
      if (!writer) {
        writer = await createFileWriter(path, { format, gzip: byName?.gzip ?? false, nanosecond: p.tsUnits > 1_000_000 });
      }
      const key = `${p.iface}/${p.linkType}`;
      let id = ifaces.get(key);
      if (id === undefined) {
        id = writer.addInterface({ linkType: p.linkType, snapLen: 0, tsUnits: p.tsUnits });
        ifaces.set(key, id);
      }
      if (!writer.write(p, id, format === 'pcapng' ? packetComments(p) : null)) await writer.flush();
    }
    // An empty capture still gets a valid file: one Ethernet interface, no packets.
    writer ??= await createFileWriter(path, { format, gzip: byName?.gzip ?? false });
    if (ifaces.size === 0) writer.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1_000_000 });
    await writer.close();
  } catch (e) {
    await writer?.abort().catch(() => {});
    throw e;
  }
}

async function* readAll(path: string): AsyncGenerator<Packet> {
  const reader = await openCapture(path, { name: path });
  for await (const batch of reader.batches()) yield* batch;
}

/** The matchers this module registers, for `expect.extend` on another `expect`. */
export const capflowMatchers = { toMatchPcap };

expect.extend(capflowMatchers);
