/**
 * Test tool: copy a capture from stdin to stdout through capflow's reader and writer.
 * Usage: node --import tsx test/helpers/pcap-cat.ts pcap|pcapng [gzip]
 */
import { readCaptureFromStream } from '../../pipeline/pcap/reader.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';

const format = process.argv[2] === 'pcapng' ? 'pcapng' : 'pcap';
const gzip = process.argv[3] === 'gzip';
const reader = await readCaptureFromStream(process.stdin, { name: '<stdin>', onWarning: (m) => process.stderr.write(m + '\n') });
const writer = await createFileWriter('-', { format, gzip, nanosecond: reader.nanosecond });
const ids = new Map<number, number>();
try {
  for await (const batch of reader.batches()) {
    let ok = true;
    for (const p of batch) {
      let id = ids.get(p.iface);
      if (id === undefined) {
        id = writer.addInterface(reader.interfaces[p.iface]!);
        ids.set(p.iface, id);
      }
      ok = writer.write(p, id, p.comments) && ok;
    }
    if (!ok) await writer.flush();
  }
  await writer.close();
} catch (e) {
  await writer.abort();
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
