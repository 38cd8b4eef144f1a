/**
 * capflow extcap: Wireshark's extcap interface, so a capflow replay shows up as a capture
 * interface ("capflow") in Wireshark. Wireshark runs the extcap executable (a wrapper script
 * from `capflow extcap --install-script`) with:
 *
 *   --extcap-interfaces [--extcap-version=X.Y]        → extcap/interface lines
 *   --extcap-interface capflow --extcap-dlts          → dlt line
 *   --extcap-interface capflow --extcap-config        → arg/value lines (the options dialog)
 *   --extcap-interface capflow --capture --fifo PATH [--input F --pipeline P --nic N --view V --speed X --loop N]
 *
 * Output grammar: Wireshark doc/extcap_example.py and the extcap(4) man page.
 *
 * Wireshark turns every line on the extcap's stderr into an error dialog, so a capture writes
 * warnings only to its log (--log-file, default pipeline/wireshark/extcap-log.ts; --debug also
 * to stderr) and reports an error as one line. An error found before the capture starts (no or
 * unreadable input, bad pipeline or option) still opens and closes the FIFO, so Wireshark stops
 * waiting at once and shows the message. The capture is pcapng, so capflow's comments (and the
 * capflow dissector's fields) are live.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapflowCommand } from '../command.js';
import { EXIT, io } from '../command.js';
import { reportError } from '../errors.js';
import { ConfigError } from '../../pipeline/config-error.js';
import { builtinProfiles } from '../../pipeline/nic/profile.js';
import { readPipelineFile, resolvePipeline } from '../../pipeline/config.js';
import { rateFromOptions, type RateSpec } from '../../pipeline/replay/rate.js';
import type { PipelineConfig } from '../../pipeline/config.js';
import { openCapture } from '../../pipeline/pcap/reader.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { defaultExtcapLogPath, ExtcapLog } from '../../pipeline/wireshark/extcap-log.js';
import { releaseFifo } from '../../pipeline/wireshark/extcap-fifo.js';
import type { View } from '../../stages/stage.js';

export const EXTCAP_INTERFACE = 'capflow';
const LINKTYPE_ETHERNET = 1;

export const extcapCommand: CapflowCommand = {
  command: 'extcap',
  describe: "Wireshark extcap interface: capflow replay as a capture interface in Wireshark (see --install-script)",
  builder: (y) =>
    y
      .strict(false) // Wireshark adds options over time (--extcap-capture-filter, log options); unknown ones are ignored
      .option('extcap-interfaces', { type: 'boolean', describe: 'list the extcap interfaces' })
      .option('extcap-interface', { type: 'string', describe: `the interface (${EXTCAP_INTERFACE})` })
      .option('extcap-dlts', { type: 'boolean', describe: 'list the link types of the interface' })
      .option('extcap-config', { type: 'boolean', describe: 'list the options of the interface' })
      .option('extcap-version', { type: 'string', describe: 'print the extcap version line (Wireshark passes its own version here)' })
      .option('extcap-capture-filter', { type: 'string', describe: 'capture filter from Wireshark (not supported: ignored)' })
      .option('capture', { type: 'boolean', describe: 'run the replay into --fifo' })
      .option('fifo', { type: 'string', describe: 'the FIFO Wireshark reads' })
      .option('input', { type: 'string', describe: 'capture: the capture to replay' })
      .option('pipeline', { type: 'string', describe: 'capture: pipeline file' })
      .option('nic', { type: 'string', describe: 'capture: NIC offload profile' })
      .option('view', { type: 'string', describe: 'capture: driver or wire' })
      .option('speed', { type: 'number', describe: 'capture: speed multiplier (default 1)' })
      .option('loop', { type: 'number', describe: 'capture: passes over the input (0 = until stopped; default 1)' })
      .option('debug', { type: 'boolean', describe: 'capture: warnings also on stderr (Wireshark shows them as errors)' })
      .option('log-file', { alias: 'debug-file', type: 'string', describe: 'capture: the log warnings go to (default ~/.local/state/capflow/extcap.log)' })
      .option('install-script', { type: 'boolean', describe: 'print a wrapper script to put into Wireshark\'s extcap folder' }),
  run: async (argv) => {
    if (argv.capture && !argv.extcapDlts && !argv.extcapConfig) return capture(argv);
    try {
      if (argv.installScript) {
        io.out(installScript());
        return EXIT.OK;
      }
      if (argv.extcapInterfaces) {
        io.out(interfacesText());
        return EXIT.OK;
      }
      const iface = argv.extcapInterface as string | undefined;
      if (argv.extcapDlts || argv.extcapConfig) {
        checkInterface(iface);
        if (argv.extcapDlts) {
          io.out(dltsText());
          return EXIT.OK;
        }
        io.out(configText());
        return EXIT.OK;
      }
      if (argv.extcapVersion !== undefined) {
        io.out(versionLine());
        return EXIT.OK;
      }
      throw new ConfigError('extcap: give --extcap-interfaces, --extcap-dlts, --extcap-config, --capture or --install-script (Wireshark calls this; see README "Wireshark")');
    } catch (e) {
      return reportError(e);
    }
  },
};

function checkInterface(iface: string | undefined): void {
  if (iface !== EXTCAP_INTERFACE) throw new ConfigError(`extcap: unknown interface ${iface === undefined ? '(none given: --extcap-interface)' : `"${iface}"`}; this extcap has "${EXTCAP_INTERFACE}"`);
}

/** Text of an extcap attribute value: the grammar has no escapes, so braces cannot appear. */
function clean(s: string): string {
  return s.replace(/[{}\n\r]/g, ' ').replace(/\s+/g, ' ').trim();
}

export function capflowVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'capflow' && pkg.version) return pkg.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

function versionLine(): string {
  return `extcap {version=${capflowVersion()}}{display=capflow replay}\n`;
}

export function interfacesText(): string {
  return `${versionLine()}interface {value=${EXTCAP_INTERFACE}}{display=capflow replay (capture through a kernel-faithful pipeline)}\n`;
}

export function dltsText(): string {
  return `dlt {number=${LINKTYPE_ETHERNET}}{name=EN10MB}{display=Ethernet}\n`;
}

export function configText(): string {
  const lines = [
    'arg {number=0}{call=--input}{display=Input capture}{type=fileselect}{mustexist=true}{required=true}{tooltip=pcap or pcapng file (optionally gzip) to replay}',
    'arg {number=1}{call=--pipeline}{display=Pipeline file}{type=fileselect}{mustexist=true}{tooltip=YAML or JSON pipeline file (optional)}',
    'arg {number=2}{call=--nic}{display=NIC profile}{type=selector}{tooltip=NIC offload profile the egress decides against}',
    'arg {number=3}{call=--view}{display=View}{type=radio}{tooltip=driver: what the kernel hands the NIC driver; wire: what leaves the NIC}',
    'arg {number=4}{call=--speed}{display=Speed}{type=double}{default=1}{tooltip=Multiple of the captured speed}',
    'arg {number=5}{call=--loop}{display=Loop}{type=integer}{range=0,1000000}{default=1}{tooltip=Passes over the input (0 = until the capture is stopped)}',
    'arg {number=6}{call=--debug}{display=Warnings as errors}{type=boolflag}{default=false}{tooltip=Also show capflow warnings on stderr (Wireshark shows them as errors); they are always in the log}{group=Debug}',
    `arg {number=7}{call=--log-file}{display=Log file}{type=fileselect}{mustexist=false}{tooltip=Where warnings go (default ${clean(defaultExtcapLogPath())})}{group=Debug}`,
  ];
  for (const p of builtinProfiles()) {
    const desc = p.description ? clean(p.description) : '';
    const display = desc ? `${p.name}: ${desc.length > 70 ? `${desc.slice(0, 67)}...` : desc}` : p.name;
    lines.push(`value {arg=2}{value=${clean(p.name)}}{display=${display}}{default=${p.name === 'none' ? 'true' : 'false'}}`);
  }
  lines.push('value {arg=3}{value=driver}{display=driver}{default=true}');
  lines.push('value {arg=3}{value=wire}{display=wire}{default=false}');
  return `${lines.join('\n')}\n`;
}

interface PreparedCapture {
  input: string;
  fifo: string;
  config: PipelineConfig;
  rate: RateSpec;
  loop: number;
}

/** Everything that can be wrong with a capture request, found before the capture starts. */
async function prepareCapture(argv: Record<string, any>, log: ExtcapLog): Promise<PreparedCapture> {
  checkInterface(argv.extcapInterface as string | undefined);
  const fifo = nonEmpty(argv.fifo);
  if (!fifo) throw new ConfigError('extcap --capture: --fifo PATH is required');
  const input = nonEmpty(argv.input);
  if (!input) throw new ConfigError('extcap --capture: no input capture given (the "Input capture" option; tshark: -o extcap.capflow.input:FILE)');
  const view = nonEmpty(argv.view);
  if (view !== undefined && view !== 'driver' && view !== 'wire') throw new ConfigError(`extcap: --view expects driver or wire, got "${view}"`);
  const loop = argv.loop ?? 1;
  if (!Number.isInteger(loop) || loop < 0) throw new ConfigError(`extcap: --loop expects a whole number ≥ 0 (0 = until stopped), got ${argv.loop}`);
  const pipelineFile = nonEmpty(argv.pipeline);
  const doc = pipelineFile ? readPipelineFile(pipelineFile) : {};
  const config = resolvePipeline(doc, pipelineFile ?? 'extcap', { nic: nonEmpty(argv.nic), view: view as View | undefined });
  const rate = rateFromOptions({ speed: argv.speed });
  new Pipeline(config); // loads the NIC profile and builds the stages: their errors too come now
  // Open the input once now: a missing, unreadable or non-capture file is reported before the capture starts.
  const reader = await openCapture(input, { name: input, strict: false, onWarning: (m) => log.write(m) });
  await reader.close();
  return { input, fifo, config, rate, loop };
}

async function capture(argv: Record<string, any>): Promise<number> {
  const log = new ExtcapLog(nonEmpty(argv.logFile) ?? defaultExtcapLogPath(), argv.debug === true ? io.err : null);
  let prepared: PreparedCapture;
  try {
    prepared = await prepareCapture(argv, log);
  } catch (e) {
    // The message first (Wireshark collects stderr when the extcap exits), then release the reader.
    const status = reportOneLine(e, log);
    const fifo = nonEmpty(argv.fifo);
    if (fifo) await releaseFifo(fifo);
    return status;
  }
  const { runReplay } = await import('../../pipeline/replay/replay.js');
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  // Wireshark stops an extcap capture with SIGTERM (SIGINT from a terminal).
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    log.write(`capture: ${prepared.input} -> ${prepared.fifo}`);
    const s = await runReplay({
      input: prepared.input,
      to: prepared.fifo,
      config: prepared.config,
      rate: prepared.rate,
      loop: prepared.loop,
      format: 'pcapng',
      signal: ac.signal,
      onWarning: (m) => log.write(m),
    });
    log.write(`capture ended (${s.stopped}): ${s.packetsIn} in, ${s.forwarded} forwarded, ${s.dropped} dropped, ${s.sent} sent`);
    return EXIT.OK;
  } catch (e) {
    const status = reportOneLine(e, log);
    // If the replay failed before it opened the FIFO, the reader is still waiting for a writer.
    await releaseFifo(prepared.fifo, 500);
    return status;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/** An error as Wireshark shows it best: one line on stderr (and in the log). */
function reportOneLine(e: unknown, log: ExtcapLog): number {
  const message = ((e as Error)?.message ?? String(e)).replace(/\s*\n\s*/g, '; ');
  io.err(`capflow: ${message}\n`);
  log.write(`error: ${message}`);
  return e instanceof ConfigError ? EXIT.USAGE : EXIT.FAILED;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A wrapper for Wireshark's extcap folder that runs this very capflow (paths resolved now). */
export function installScript(): string {
  const script = process.argv[1] ? realpathSync(process.argv[1]) : 'capflow';
  // No Node warnings: Wireshark would show them as errors.
  const nodeArgs = process.execArgv.includes('--no-warnings') ? process.execArgv : [...process.execArgv, '--no-warnings'];
  const parts = [process.execPath, ...nodeArgs, script].map(shellQuote).join(' ');
  return [
    '#!/bin/sh',
    '# Wireshark extcap wrapper for capflow (generated by `capflow wireshark install`).',
    '# It runs the node and capflow it was generated with; install again after moving either.',
    `exec ${parts} extcap "$@"`,
    '',
  ].join('\n');
}
