// The reference for capflow's plain copy in `npm run bench`: about the least a Node program can do
// to copy a pcap record by record. 1 MiB createReadStream chunks, each record header read and the
// record copied into a 1 MiB batch, every full batch written with writeSync. No validation, no
// atomic rename: capflow can only lose against it by its own overhead. Several pairs are copied
// one after the other (the batch's reference: one process for a whole list of files).
//
//   node baseline-copy.mjs IN.pcap OUT.pcap [IN.pcap OUT.pcap ...]
import { createReadStream, openSync, writeSync, closeSync } from 'node:fs';

const BATCH = 1 << 20;
const batch = Buffer.allocUnsafe(BATCH);
let records = 0;
let out = -1;
let used = 0;

function put(buf, start, end) {
  if (used + (end - start) > BATCH) {
    writeSync(out, batch, 0, used);
    used = 0;
  }
  buf.copy(batch, used, start, end);
  used += end - start;
}

async function copy(input, output) {
  out = openSync(output, 'w');
  used = 0;
  let carry = null;
  let header = true;
  for await (const chunk of createReadStream(input, { highWaterMark: 1 << 20 })) {
    const buf = carry === null ? chunk : Buffer.concat([carry, chunk]);
    let pos = 0;
    if (header) {
      if (buf.length < 24) {
        carry = buf;
        continue;
      }
      put(buf, 0, 24);
      pos = 24;
      header = false;
    }
    while (pos + 16 <= buf.length) {
      const n = 16 + buf.readUInt32LE(pos + 8);
      if (pos + n > buf.length) break;
      put(buf, pos, pos + n);
      pos += n;
      records++;
    }
    carry = pos < buf.length ? buf.subarray(pos) : null;
  }
  if (used > 0) writeSync(out, batch, 0, used);
  closeSync(out);
}

const pairs = process.argv.slice(2);
if (pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error('usage: node baseline-copy.mjs IN OUT [IN OUT ...]');
  process.exit(2);
}
for (let i = 0; i < pairs.length; i += 2) await copy(pairs[i], pairs[i + 1]);
if (records < 0) console.log(records);
