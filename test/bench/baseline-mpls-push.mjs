// The floor under capflow's mpls-push in `npm run bench`: about the least a Node program can do to
// push one MPLS label (label 100, TTL 64, bottom of stack) onto every frame of a pcap, writing the
// same bytes as the bench's mpls case (`--stage 'mpls-push:labels=[{label: 100, ttl: 64}]' --stage
// gso:mtu=9000`) on the bench's plain input (baseline-mpls-push.test.ts compares them). 8 MiB reads
// into one reused buffer with readSync; each record built in a 1 MiB batch in the same ArrayBuffer
// (one copyWithin for the MAC addresses, one for the payload); full batches written with writeSync
// (1 MiB, as baseline-copy.mjs: 8 MiB writes took more system time in four rounds by hand); the
// output renamed into place when it is a file (a device or FIFO such as /dev/null is written to:
// renaming over it would replace it with a file). It knows nothing else: untagged Ethernet,
// microsecond little-endian pcap, no validation, no decode, no egress. What capflow spends above
// it is its general pipeline's.
//
//   node baseline-mpls-push.mjs IN.pcap OUT.pcap     (OUT - : standard output)
import { openSync, readSync, writeSync, closeSync, renameSync, statSync } from 'node:fs';

const READ = 8 << 20;
const BATCH = 1 << 20;
/** Largest record the batch must take in one piece (pcap's 262144-byte caplen limit + header + label). */
const ROOM = 262144 + 16 + 4;
const LABEL_STACK_ENTRY = ((100 << 12) | (1 << 8) | 64) >>> 0; // label 100, S=1, TTL 64
const ETHERTYPE_MPLS_UC = 0x8847;

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node baseline-mpls-push.mjs IN.pcap OUT.pcap');
  process.exit(2);
}
const toStdout = output === '-';
const fd = openSync(input, 'r');
const outStat = toStdout ? null : statSync(output, { throwIfNoEntry: false });
const atomic = !toStdout && (!outStat || outStat.isFile());
const out = toStdout ? 1 : openSync(atomic ? `${output}.tmp` : output, 'w');

// [0, batchAt): read buffer (with room for a record cut at its end); [batchAt, end): the batch.
const batchAt = READ + ROOM;
const mem = new Uint8Array(batchAt + BATCH + ROOM);
const dv = new DataView(mem.buffer);
let have = readSync(fd, mem, 0, READ, null);
let pos = 24;
let used = batchAt;
mem.copyWithin(used, 0, 24); // the file header as it is
used += 24;
for (;;) {
  while (pos + 16 <= have) {
    const capLen = dv.getUint32(pos + 8, true);
    if (pos + 16 + capLen > have) break;
    if (used + 16 + capLen + 4 > batchAt + BATCH) {
      writeSync(out, mem, batchAt, used - batchAt);
      used = batchAt;
    }
    dv.setUint32(used, dv.getUint32(pos, true), true);
    dv.setUint32(used + 4, dv.getUint32(pos + 4, true), true);
    dv.setUint32(used + 8, capLen + 4, true);
    dv.setUint32(used + 12, dv.getUint32(pos + 12, true) + 4, true);
    const frame = pos + 16;
    const to = used + 16;
    mem.copyWithin(to, frame, frame + 12);
    dv.setUint16(to + 12, ETHERTYPE_MPLS_UC);
    dv.setUint32(to + 14, LABEL_STACK_ENTRY);
    mem.copyWithin(to + 18, frame + 14, frame + capLen);
    used = to + capLen + 4;
    pos = frame + capLen;
  }
  mem.copyWithin(0, pos, have);
  have -= pos;
  pos = 0;
  const n = readSync(fd, mem, have, READ, null);
  if (n === 0) break;
  have += n;
}
writeSync(out, mem, batchAt, used - batchAt);
closeSync(fd);
if (!toStdout) closeSync(out);
if (atomic) renameSync(`${output}.tmp`, output);
