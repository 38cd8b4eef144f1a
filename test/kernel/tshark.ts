/**
 * tshark-based sanity check of a capture: frame count, lengths, expert infos, malformed frames.
 */
import { spawnSync } from 'node:child_process';

export interface TsharkReport {
  count: number;
  lengths: number[];
  /** Expert-info summaries per frame (empty string when none). */
  experts: string[];
  /** Indexes (0-based) of frames tshark flags as malformed. */
  malformed: number[];
}

export function haveTshark(): boolean {
  return spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;
}

/** `tshark -r file -T fields -e frame.len -e _ws.expert -e _ws.malformed` (extra `-o` prefs allowed). */
export function tsharkCheck(file: string, prefs: string[] = [], disabledProtocols: string[] = []): TsharkReport {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.len', '-e', '_ws.expert', '-e', '_ws.malformed'];
  for (const p of prefs) args.push('-o', p);
  for (const p of disabledProtocols) args.push('--disable-protocol', p);
  const r = spawnSync('tshark', args, { stdio: 'pipe', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed on ${file}: ${r.stderr?.toString()}`);
  const lines = r.stdout.toString().split('\n').filter((l) => l.length > 0);
  const rep: TsharkReport = { count: lines.length, lengths: [], experts: [], malformed: [] };
  lines.forEach((l, i) => {
    const [len, expert = '', mal = ''] = l.split('|');
    rep.lengths.push(Number(len));
    rep.experts.push(expert);
    if (mal.trim() !== '' || /malformed/i.test(expert)) rep.malformed.push(i);
  });
  return rep;
}
