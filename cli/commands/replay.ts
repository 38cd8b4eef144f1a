/** capflow replay IN [pipeline options] --to DEST [--speed X|--pps N|--mbps N|--topspeed] [--loop N] */
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io } from '../command.js';
import { withPipelineOptions, pipelineFromArgs } from '../options.js';
import { reportError } from '../errors.js';
import { signalStatus, stopSignals } from '../signals.js';
import type { ReplaySummary } from '../../pipeline/replay/replay.js';
import { formatBitRate, parseLinkSpeed, rateFromOptions } from '../../pipeline/replay/rate.js';

const EXAMPLES = examples([
  ['capflow replay in.pcapng --pipeline p.yaml --to - | wireshark -k -i -', 'watch the output live, at the captured pace'],
  ['capflow replay in.pcapng --nic ixgbe --to iface:eth1 --pps 10000', 'send out of an interface (AF_PACKET, root)'],
  ['capflow replay in.pcap --to out.pcap --topspeed --link-speed 10G', 're-time: back-to-back at 10 Gbit/s'],
]);

export const replayCommand: CapflowCommand = {
  command: 'replay <input>',
  describe: 'run the pipeline and send its output paced in time: to a live pcapng stream (-, FIFO), a file, or an interface (iface:NAME)',
  builder: (y) =>
    withPipelineOptions(
      y
        .usage(
          `$0 replay IN [pipeline options] --to DEST [--speed X|--pps N|--mbps N|--topspeed] [--loop N]\n\n` +
            `Run the pipeline and send its output paced in time: to a live pcap stream (-, FIFO), a file, or an interface.\n` +
            `IN: the input capture (pcap, pcapng, optionally gzip); - for stdin`,
        )
        .string('input')
        .epilogue(EXAMPLES)
        .option('to', { type: 'string', nargs: 1, demandOption: true, describe: 'destination: - (stdout) or a FIFO (live pcapng stream), a file (re-timed capture), iface:NAME (AF_PACKET)' })
        .option('speed', { alias: ['x', 'multiplier'], type: 'number', describe: 'replay at X times the captured speed (default 1)' })
        .option('pps', { type: 'number', describe: 'packets per second, regardless of the timestamps' })
        .option('mbps', { alias: 'M', type: 'number', describe: 'megabits per second, regardless of the timestamps' })
        .option('topspeed', { alias: 't', type: 'boolean', describe: 'as fast as the destination takes them' })
        .option('link-speed', { type: 'string', describe: 'space packets by their serialization time at this rate (10G, 100M, ...)' })
        .option('loop', { alias: 'l', type: 'number', default: 1, describe: 'passes over the input (0 = until stopped)' })
        .option('loop-gap', { alias: 'loopdelay-ms', type: 'number', default: 0, describe: 'milliseconds between loops' })
        .option('limit', { alias: 'L', type: 'number', describe: 'stop after sending N packets' })
        .option('vnet-hdr', { type: 'boolean', default: false, describe: 'iface: hand super-packets and partial checksums to the kernel with a virtio_net_hdr (GSO by the kernel or NIC)' })
        .option('format', { choices: ['pcap', 'pcapng'] as const, describe: "capture format: - and FIFOs default to pcapng (keeps capflow's comments); files follow their name, else the input's" })
        .option('nanosecond', { type: 'boolean', describe: 'nanosecond timestamps (default: when the input has them or --link-speed is given)' })
        .option('strict', { type: 'boolean', default: false, describe: 'a truncated last record is an error instead of a warning' })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary (stdout; stderr when the destination is stdout)' }),
    ),
  run: async (argv) => {
    const stop = stopSignals();
    try {
      const config = await pipelineFromArgs(argv);
      const rate = rateFromOptions({ speed: argv.speed, pps: argv.pps, mbps: argv.mbps, topspeed: argv.topspeed });
      const linkBps = argv.linkSpeed !== undefined ? parseLinkSpeed(String(argv.linkSpeed)) : undefined;
      const { runReplay } = await import('../../pipeline/replay/replay.js');
      const summary = await runReplay({
        input: String(argv.input),
        to: String(argv.to),
        config,
        rate,
        linkBps,
        loop: argv.loop,
        loopGapMs: argv.loopGap,
        limit: argv.limit,
        vnetHdr: argv.vnetHdr,
        format: argv.format,
        nanosecond: argv.nanosecond,
        strict: argv.strict,
        signal: stop.signal,
        onWarning: (m) => io.err(`capflow: ${m}\n`),
      });
      if (argv.json) {
        const text = `${JSON.stringify(replayJson(summary), null, 2)}\n`;
        if (argv.to === '-') io.err(text);
        else io.out(text);
      } else io.err(replayText(summary));
      // The same rule as `run`: a replay stopped by a signal exits 128+signal (a file destination removed).
      if (summary.stopped === 'signal' && stop.received) return signalStatus(stop.received);
      return EXIT.OK;
    } catch (e) {
      if (stop.received) {
        // Stopped before anything could be sent (waiting for a FIFO's reader or for input).
        io.err(`capflow: replay: stopped by ${stop.received} before sending; nothing written\n`);
        return signalStatus(stop.received);
      }
      return reportError(e);
    } finally {
      stop.dispose();
    }
  },
};

/** The JSON summary: run's counters plus what was sent and the requested vs achieved rate. */
export function replayJson(s: ReplaySummary) {
  return {
    packetsIn: s.packetsIn,
    packetsOut: s.packetsOut,
    forwarded: s.forwarded,
    dropped: s.dropped,
    drops: s.drops,
    nonEthernet: s.nonEthernet,
    truncated: s.truncated,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    input: s.input,
    destination: s.destination,
    destinationKind: s.destinationKind,
    loops: s.loops,
    sent: s.sent,
    bytesSent: s.bytesSent,
    sendErrors: s.sendErrors,
    notSent: s.notSent,
    stopped: s.stopped,
    rate: s.rate,
  };
}

function num(v: number | null, digits = 1): string {
  return v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(digits);
}

export function replayText(s: ReplaySummary): string {
  const drops = Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(' ');
  const errs = Object.entries(s.sendErrors).map(([k, v]) => `${k}=${v}`).join(' ');
  const r = s.rate;
  const secs = (r.actualMs / 1000).toFixed(3);
  const req =
    r.requested.mode === 'topspeed' ? 'top speed' : r.requested.mode === 'speed' ? `speed x${r.requested.value}` : `${r.requested.value} ${r.requested.unit}`;
  const ach = r.requested.mode === 'speed' ? `x${num(r.achieved.value, 3)}, ` : '';
  const link = r.requested.linkSpeedBps ? ` on a ${formatBitRate(r.requested.linkSpeedBps)} link` : '';
  let text = `replay ${s.input} -> ${s.destination}: ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped${drops ? ` (${drops})` : ''}, ${s.packetsOut} out`;
  text += `, ${s.sent} sent (${(s.bytesSent / 1e6).toFixed(2)} MB)${errs ? `, send errors: ${errs}` : ''}${s.notSent ? `, ${s.notSent} not sent` : ''}`;
  text += s.loops > 1 ? `, ${s.loops} loops` : '';
  text += s.stopped !== 'end' ? ` [stopped: ${s.stopped}${s.stopped === 'signal' && s.destinationKind === 'file' ? `; ${s.destination} not written` : ''}]` : '';
  text += '\n';
  if (r.virtualTime) {
    text += `  requested ${req}${link}; timestamps computed (file destination: nothing waited), span ${(r.scheduledMs / 1000).toFixed(6)} s\n`;
  } else {
    text += `  requested ${req}${link}; achieved ${ach}${num(r.achieved.pps)} pps, ${num(r.achieved.mbps, 2)} Mbit/s in ${secs} s; late by max ${r.late.maxMs.toFixed(2)} ms, mean ${r.late.meanMs.toFixed(2)} ms\n`;
  }
  return text;
}
