// The reference for capflow's plain copy in `npm run bench`: about the least a Node program can do
// to copy a pcap record by record. 1 MiB createReadStream chunks, each record header read and the
// record copied into a 1 MiB batch, every full batch written with writeSync. No validation, no
// atomic rename: capflow can only lose against it by its own overhead.
//
//   node baseline-copy.mjs IN.pcap OUT.pcap
import { createReadStream, openSync, writeSync, closeSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
const BATCH = 1 << 20;
const out = openSync(output, 'w');
const batch = Buffer.allocUnsafe(BATCH);
let used = 0;
let carry = null;
let header = true;
let records = 0;

function put(buf, start, end) {
  if (used + (end - start) > BATCH) {
    writeSync(out, batch, 0, used);
    used = 0;
  }
  buf.copy(batch, used, start, end);
  used += end - start;
}

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
if (records < 0) console.log(records);
