/**
 * A diff report read slowly: the built CLI must wait on its full stdout instead of reading on
 * and queueing the report in memory (a spawned child's stdout is a socket here). Node writes
 * stdout pipes and sockets synchronously on Linux, and diff's writer also waits on 'drain' where
 * they are asynchronous; either way the child must stop reading its inputs while it waits.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Packet } from '../../pipeline/packet.js';
import { createFileWriter } from '../../pipeline/pcap/writer.js';
import { builtCli, haveBuild } from '../cli/built-cli.js';
import { tcpFrame, withTempDir } from './captures.js';

const COUNT = 200_000;

/** COUNT small TCP packets, every one with TTL `ttl`. */
async function generate(path: string, ttl: number): Promise<void> {
  const template = Packet.fromBytes(tcpFrame({ payload: 'x'.repeat(60) }));
  const w = await createFileWriter(path, { format: 'pcap' });
  w.addInterface({ linkType: 1, snapLen: 0, tsUnits: 1_000_000 });
  const seqOff = template.head + 14 + 20 + 4;
  template.buf[template.head + 22] = ttl;
  for (let i = 0; i < COUNT; i++) {
    template.tsSec = 1_700_000_000 + Math.floor(i / 1000);
    template.buf[seqOff + 2] = (i >> 8) & 0xff;
    template.buf[seqOff + 3] = i & 0xff;
    if (!w.write(template, 0, null)) await w.flush();
  }
  await w.close();
}

/** Bytes the process has read so far (/proc/PID/io rchar). */
function bytesRead(pid: number): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

describe.skipIf(!haveBuild || process.platform !== 'linux')('diff with a slow reader', () => {
  it('stops reading its inputs while its report waits, then writes it all', async () => {
    await withTempDir(async (dir) => {
      const e = join(dir, 'e.pcap');
      const a = join(dir, 'a.pcap');
      await generate(e, 64);
      await generate(a, 63);
      const inputs = (await stat(e)).size + (await stat(a)).size;

      const child = spawn(process.execPath, [builtCli, 'diff', e, a, '--max', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pause();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // Wait until the child stops reading (its report fills the socket and it waits on 'drain').
      let last = -1;
      for (let i = 0; i < 100; i++) {
        await sleep(100);
        const now = bytesRead(child.pid!);
        if (now === last && now > 0) break;
        last = now;
      }
      const readWhileBlocked = bytesRead(child.pid!);
      expect(child.exitCode, stderr).toBeNull();
      // Node's own modules are read too; the captures are tens of MB, the blocked child read a few.
      expect(readWhileBlocked, `read ${readWhileBlocked} of ${inputs} bytes before its reader read anything`).toBeLessThan(inputs / 4);

      const chunks: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stdout.resume();
      const status = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
      expect(status, stderr).toBe(1);
      const report = Buffer.concat(chunks).toString('utf8');
      expect(report.split('\n').filter((l) => l.includes('ipv4.ttl: expected 64, got 63'))).toHaveLength(COUNT);
    });
  }, 120_000);
});
