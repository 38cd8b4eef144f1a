import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../../pipeline/pcap/errors.js';
import { block, buildPcap, concat, epb, frame, idb, pcapHeader, pcapRecord, shb, spb } from '../helpers/pcap-build.js';
import { collect } from '../helpers/pcap-collect.js';

const CHUNKINGS: (readonly number[] | undefined)[] = [undefined, [1], [7, 64]];

/** Expect `bytes` to yield `before` packets, then fail with `code` at `offset`, for several chunkings. */
async function expectFailure(bytes: Uint8Array, code: string, offset: number, before: number, opts = {}): Promise<CaptureFormatError> {
  let first: CaptureFormatError | null = null;
  for (const sizes of CHUNKINGS) {
    const r = await collect(bytes, opts, sizes);
    expect(r.error, `chunking ${JSON.stringify(sizes)}`).toBeInstanceOf(CaptureFormatError);
    const e = r.error as CaptureFormatError;
    expect({ code: e.code, offset: e.offset, file: e.file, packets: r.packets.length }).toEqual({ code, offset, file: 'test.cap', packets: before });
    expect(e.message.startsWith(`test.cap: offset ${offset}: `)).toBe(true);
    expect(e.name).toBe('CaptureFormatError');
    first ??= e;
  }
  return first!;
}

const rec = (i: number, len = 40) => ({ sec: i, frac: 0, data: frame(len, i) });

describe('bad input: any format', () => {
  it('empty file', async () => {
    const e = await expectFailure(new Uint8Array(0), 'ERR_CAPTURE_EMPTY', 0, 0);
    expect(e.message).toBe('test.cap: offset 0: empty file');
  });

  it('unknown magic', async () => {
    const e = await expectFailure(new TextEncoder().encode('GIF89a-not-a-capture-file'), 'ERR_PCAP_BAD_MAGIC', 0, 0);
    expect(e.message).toContain('47 49 46 38');
  });

  it('a file shorter than the magic', async () => {
    await expectFailure(Uint8Array.of(0xd4, 0xc3), 'ERR_CAPTURE_TRUNCATED', 0, 0);
  });

  it('corrupt gzip', async () => {
    const gz = gzipSync(buildPcap({ le: true, records: [rec(1), rec(2)] }));
    const cut = gz.subarray(0, gz.length - 12);
    const r = await collect(cut);
    expect(r.error).toMatchObject({ code: 'ERR_CAPTURE_GZIP' });
    const bad = Uint8Array.from(gz);
    bad.fill(0xff, 10, 30);
    const r2 = await collect(bad);
    expect(r2.error).toMatchObject({ code: 'ERR_CAPTURE_GZIP' });
  });
});

describe('bad input: pcap', () => {
  const good = [rec(1), rec(2, 100)];
  const goodLen = 24 + 16 + 40 + 16 + 100;

  it('caplen above 262144', async () => {
    const bytes = buildPcap({ le: true, snapLen: 0, records: [...good, { sec: 3, frac: 0, data: new Uint8Array(0), capLen: 300000 }] });
    const e = await expectFailure(bytes, 'ERR_PCAP_CAPLEN', goodLen, 2);
    expect(e.message).toBe(`test.cap: offset ${goodLen}: record caplen 300000 exceeds the 262144-byte limit`);
  });

  it('caplen above 262144 in a big-endian file (no allocation of the claimed size)', async () => {
    const bytes = buildPcap({ le: false, snapLen: 0, records: [...good, { sec: 3, frac: 0, data: new Uint8Array(0), capLen: 0xffffffff }] });
    await expectFailure(bytes, 'ERR_PCAP_CAPLEN', goodLen, 2);
  });

  it('caplen above the snaplen', async () => {
    const bytes = buildPcap({ le: true, snapLen: 100, records: [...good, rec(3, 101)] });
    const e = await expectFailure(bytes, 'ERR_PCAP_CAPLEN', goodLen, 2);
    expect(e.message).toContain('caplen 101 exceeds the file\'s snaplen 100');
  });

  it('caplen above origlen: warning by default, error when strict', async () => {
    const bytes = buildPcap({ le: true, records: [rec(1), { ...rec(2, 100), origLen: 60 }, { ...rec(3, 100), origLen: 50 }] });
    const r = await collect(bytes);
    expect(r.error).toBeNull();
    expect(r.packets.map((p) => p.origLen)).toEqual([40, 100, 100]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('offset 80: record caplen 100 exceeds its origlen 60');
    await expectFailure(bytes, 'ERR_CAPTURE_ORIGLEN', 80, 1, { strict: true });
  });

  it('file ends inside the file header', async () => {
    const bytes = pcapHeader({ le: true }).subarray(0, 20);
    const e = await expectFailure(bytes, 'ERR_CAPTURE_TRUNCATED', 0, 0);
    expect(e.message).toContain('truncated file header');
  });

  for (const cut of [3, 16, 30]) {
    it(`file ends inside the last record (${cut} bytes of it): warning by default, error when strict`, async () => {
      const bytes = concat(buildPcap({ le: true, records: good }), pcapRecord(true, rec(3)).subarray(0, cut));
      for (const sizes of CHUNKINGS) {
        const r = await collect(bytes, {}, sizes);
        expect(r.error).toBeNull();
        expect(r.packets).toHaveLength(2);
        expect(r.warnings).toEqual([`test.cap: offset ${goodLen}: truncated record: the input ends after ${cut} of its ${cut < 16 ? 16 : 56} bytes`]);
      }
      await expectFailure(bytes, 'ERR_CAPTURE_TRUNCATED', goodLen, 2, { strict: true });
    });
  }
});

describe('bad input: pcapng', () => {
  const head = concat(shb(true), idb(true), epb(true, { iface: 0, ts: 1n, data: frame(20, 1) }));
  const at = head.length;

  const withLen = (lead: number, trail = lead) => {
    const b = block(true, 6, new Uint8Array(20));
    const dv = new DataView(b.buffer);
    dv.setUint32(4, lead, true);
    dv.setUint32(b.length - 4, trail, true);
    return b;
  };

  it('block length below 12', async () => {
    const e = await expectFailure(concat(head, withLen(8)), 'ERR_PCAPNG_BLOCK_LEN', at, 1);
    expect(e.message).toBe(`test.cap: offset ${at}: block type 0x6 length 8 is below the 12-byte minimum`);
  });

  it('block length not a multiple of 4', async () => {
    await expectFailure(concat(head, withLen(30)), 'ERR_PCAPNG_BLOCK_LEN', at, 1);
  });

  it('block length above 16 MiB', async () => {
    const e = await expectFailure(concat(head, withLen(0x7ffffff0)), 'ERR_PCAPNG_BLOCK_LEN', at, 1);
    expect(e.message).toContain('length 2147483632 exceeds the 16777216-byte limit');
  });

  it('block too short for its type', async () => {
    const b = block(true, 6, new Uint8Array(8));
    await expectFailure(concat(head, b), 'ERR_PCAPNG_BLOCK_LEN', at, 1);
  });

  it('trailing length differs from the leading length', async () => {
    const e = await expectFailure(concat(head, withLen(32, 36)), 'ERR_PCAPNG_BLOCK_LEN', at, 1);
    expect(e.message).toContain('trailing length 36 differs from its leading length 32');
  });

  it('packet for an undefined interface', async () => {
    const e = await expectFailure(concat(head, epb(true, { iface: 1, ts: 0n, data: frame(4, 1) })), 'ERR_PCAPNG_NO_INTERFACE', at, 1);
    expect(e.message).toContain('interface 1, but section 1 defines 1 interface(s)');
  });

  it('simple packet block without any interface', async () => {
    await expectFailure(concat(shb(false), spb(false, { data: frame(4, 1) })), 'ERR_PCAPNG_NO_INTERFACE', 28, 0);
  });

  it('packet caplen beyond the block', async () => {
    const e = await expectFailure(concat(head, epb(true, { iface: 0, ts: 0n, data: frame(8, 1), capLen: 9 })), 'ERR_PCAPNG_CAPLEN', at, 1);
    expect(e.message).toContain('packet caplen 9 exceeds the block\'s 8-byte data area');
  });

  it('unknown byte-order magic and unsupported version', async () => {
    const bad = shb(true);
    new DataView(bad.buffer).setUint32(8, 0x11223344, true);
    await expectFailure(concat(head, bad), 'ERR_PCAPNG_SECTION', at, 1);
    await expectFailure(concat(head, shb(false, { major: 2 })), 'ERR_PCAPNG_SECTION', at, 1);
  });

  it('if_tsresol finer than representable', async () => {
    await expectFailure(concat(head, idb(true, { tsresol: 0x80 | 60 })), 'ERR_PCAPNG_TSRESOL', at, 1);
  });

  it('caplen above origlen: warning by default, error when strict', async () => {
    const bytes = concat(head, epb(true, { iface: 0, ts: 0n, data: frame(20, 1), origLen: 10 }));
    const r = await collect(bytes);
    expect(r.packets.map((p) => p.origLen)).toEqual([20, 20]);
    expect(r.warnings).toHaveLength(1);
    await expectFailure(bytes, 'ERR_CAPTURE_ORIGLEN', at, 1, { strict: true });
  });

  it('an option running past its block: warning by default, error when strict', async () => {
    const b = epb(true, { iface: 0, ts: 0n, data: frame(4, 1), comments: ['abcd'] });
    new DataView(b.buffer).setUint16(32 + 2, 200, true); // comment length 200 in a small block
    const bytes = concat(head, b);
    const r = await collect(bytes);
    expect(r.error).toBeNull();
    expect(r.packets).toHaveLength(2);
    expect(r.packets[1]!.comments).toBeNull();
    expect(r.warnings[0]).toContain('option 1 length 200 runs past');
    await expectFailure(bytes, 'ERR_PCAPNG_OPTION', at, 1, { strict: true });
  });

  it('first block not a section header', async () => {
    const bytes = concat(shb(true), idb(true));
    // a pcap magic would be pcap; a pcapng must start with the SHB type
    await expectFailure(bytes.subarray(28), 'ERR_PCAP_BAD_MAGIC', 0, 0);
  });

  it('file ends inside the section header', async () => {
    await expectFailure(shb(true).subarray(0, 20), 'ERR_CAPTURE_TRUNCATED', 0, 0);
  });

  for (const cut of [5, 12, 30]) {
    it(`file ends inside the last block (${cut} bytes of it): warning by default, error when strict`, async () => {
      const last = epb(true, { iface: 0, ts: 0n, data: frame(20, 1) });
      const bytes = concat(head, last.subarray(0, cut));
      for (const sizes of CHUNKINGS) {
        const r = await collect(bytes, {}, sizes);
        expect(r.error).toBeNull();
        expect(r.packets).toHaveLength(1);
        expect(r.warnings).toHaveLength(1);
        expect(r.warnings[0]).toBe(`test.cap: offset ${at}: truncated block: the input ends after ${cut} of its ${cut < 12 ? 12 : last.length} bytes`);
      }
      await expectFailure(bytes, 'ERR_CAPTURE_TRUNCATED', at, 1, { strict: true });
    });
  }
});

describe('bad input: never crash or hang', () => {
  const pcapng = concat(
    shb(true),
    idb(true, { tsresol: 9, name: 'eth0' }),
    epb(true, { iface: 0, ts: 123n, data: frame(30, 1), comments: ['x'] }),
    spb(true, { data: frame(10, 2) }),
    shb(false),
    idb(false),
    epb(false, { iface: 0, ts: 5n, data: frame(17, 3) }),
  );
  const pcap = buildPcap({ le: false, records: [rec(1), rec(2, 90), rec(3, 7)] });

  for (const [name, bytes] of [
    ['pcapng', pcapng],
    ['pcap', pcap],
  ] as const) {
    it(`mutated ${name} files give packets or a CaptureFormatError (property)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), v: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
          fc.nat({ max: bytes.length }),
          async (edits, cut) => {
            const b = Uint8Array.from(bytes);
            for (const { at, v } of edits) b[at] = v;
            const r = await collect(b.subarray(0, Math.max(cut, 1)), {}, [13]);
            if (r.error !== null && !(r.error instanceof CaptureFormatError)) throw r.error;
          },
        ),
        { numRuns: 400 },
      );
    });
  }
});
