/** capflow info FILE [--json] */
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io } from '../command.js';
import { reportError } from '../errors.js';
import { captureInfo, type CaptureInfo } from '../../pipeline/info.js';

const EXAMPLES = examples([
  ['capflow info samples/tso-host.pcap', 'packets, flows, super-packets and the MSS gso would use per flow'],
  ['capflow info --json capture.pcapng.gz', 'the same as JSON (VNIs, label stacks, per-flow MSS)'],
  ['tcpdump -w - -c 1000 -i eth0 | capflow info --mtu 9000 -', 'from stdin, super-packets counted against a 9000-byte MTU'],
]);

export const infoCommand: CapflowCommand = {
  command: 'info <file>',
  describe: 'summary of a capture: format, link types, packets, time span, tunnels, MPLS, super-packets and their auto MSS',
  builder: (y) =>
    y
      .usage(
        `$0 info FILE [options]\n\n` +
          `Summary of a capture: format, link types, packets, time span, tunnels, MPLS, super-packets and their auto MSS.\n` +
          `FILE: a capture (pcap, pcapng, optionally gzip); - for stdin`,
      )
      .string('file')
      .epilogue(EXAMPLES)
      .option('json', { type: 'boolean', default: false, describe: 'JSON output' })
      .option('mtu', { type: 'number', default: 1500, describe: 'egress MTU for the gso super-packet rule (mss auto)' })
      .option('vxlan-port', { type: 'number', array: true, describe: 'UDP ports taken as VXLAN (default 4789 8472)' })
      .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'also print the rule that picks the auto MSS' }),
  run: async (argv) => {
    try {
      const info = await captureInfo(String(argv.file), {
        mtu: argv.mtu,
        vxlanPorts: argv.vxlanPort,
        strict: argv.strict,
        onWarning: (m) => io.err(`capflow: ${m}\n`),
      });
      io.out(argv.json ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info, argv.verbose === true));
      return EXIT.OK;
    } catch (e) {
      return reportError(e);
    }
  },
};

function counts(rec: Record<string, number>, limit = 10): string {
  const entries = Object.entries(rec).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, limit).map(([k, v]) => `${k} (${v})`).join(', ');
  return entries.length > limit ? `${shown}, … ${entries.length - limit} more` : shown;
}

const INDENT = ' '.repeat(17);
const MAX_FLOWS = 8;

/** The gso `mss: auto` result per flow, then the rule (its text with `verbose`). */
function formatGso(g: CaptureInfo['gso'], verbose: boolean): string[] {
  const out: string[] = [];
  g.flows.slice(0, MAX_FLOWS).forEach((f, n) => {
    const where = f.vxlan ? ' in VXLAN' : '';
    const count = `${f.superPackets} super-packet${f.superPackets === 1 ? '' : 's'}`;
    const text = `${f.proto.toUpperCase()} ${f.flow}${where} ${f.gsoSize} (${f.reason}), ${count}`;
    out.push(n === 0 ? `Auto MSS:        per flow: ${text}` : `${INDENT}per flow: ${text}`);
  });
  if (g.flows.length > MAX_FLOWS) out.push(`${INDENT}… ${g.flows.length - MAX_FLOWS} more flows (--json lists all)`);
  const params = `gso mss=${g.mss}, mtu=${g.mtu}, vxlanPorts=${g.vxlanPorts.join(',')}`;
  if (!verbose) {
    out.push(`MSS rule:        ${params} (--verbose shows the rule)`);
    return out;
  }
  out.push(`MSS rule:        ${params}:`);
  for (const l of g.rule.split('\n')) out.push(`${INDENT}${l}`);
  return out;
}

export function formatInfo(i: CaptureInfo, verbose = false): string {
  const lines = [
    `File:            ${i.file === '-' ? '<stdin>' : i.file}`,
    `Format:          ${i.format}${i.nanosecond ? ' (nanosecond)' : ''}`,
    `Interfaces:      ${i.interfaces.map((x, n) => `#${n} ${x.linkTypeName}${x.name ? ` ${x.name}` : ''} (${x.packets} packets, 1/${x.tsUnits} s)`).join('; ')}`,
    `Packets:         ${i.packets}`,
    `Bytes:           ${i.bytesCaptured} captured, ${i.bytesOnWire} on the wire${i.truncated ? ` (${i.truncated} packets truncated by snaplen)` : ''}`,
    `Time span:       ${i.first ?? '-'} .. ${i.last ?? '-'} (${i.durationSeconds.toFixed(6)} s)`,
  ];
  if (i.comments) lines.push(`Comments:        ${i.comments}${i.tunnelMetadata ? ` (${i.tunnelMetadata} packets with capflow tunnel metadata)` : ''}`);
  if (i.vxlan.packets) lines.push(`VXLAN:           ${i.vxlan.packets} packets; VNIs ${counts(i.vxlan.vnis)}; ports ${counts(i.vxlan.ports)}`);
  if (i.mpls.packets) lines.push(`MPLS:            ${i.mpls.packets} packets; label stacks ${counts(i.mpls.stacks)}`);
  const sp = i.superPackets;
  if (sp.tcp || sp.udp) {
    const vx = sp.vxlan ? `, ${sp.vxlan} of them VXLAN (UDP tunnel GSO)` : '';
    lines.push(`Super-packets:   ${sp.tcp} TCP, ${sp.udp} UDP larger than MTU ${sp.mtu}${vx} (largest frame ${sp.largest} bytes)`);
  }
  if (sp.truncated) lines.push(`Over MTU:        ${sp.truncated} packets longer than MTU ${sp.mtu} but snaplen-truncated (gso passes them unchanged)`);
  const mss = Object.entries(i.synMss);
  if (mss.length) lines.push(`SYN MSS:         ${mss.slice(0, 8).map(([k, v]) => `${k} mss ${v}`).join('; ')}${mss.length > 8 ? ` … ${mss.length - 8} more` : ''}`);
  if (Object.keys(i.decodeProblems).length) lines.push(`Decode problems: ${counts(i.decodeProblems)}`);
  if (sp.tcp || sp.udp) lines.push(...formatGso(i.gso, verbose));
  return `${lines.join('\n')}\n`;
}
