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
import { rateFromOptions } from '../../pipeline/replay/rate.js';
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
      .option('install-script', { type: 'boolean', describe: 'print a wrapper script to put into Wireshark\'s extcap folder' }),
  run: async (argv) => {
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
      if (argv.extcapDlts || argv.extcapConfig || argv.capture) {
        if (iface !== EXTCAP_INTERFACE) throw new ConfigError(`extcap: unknown interface ${iface === undefined ? '(none given: --extcap-interface)' : `"${iface}"`}; this extcap has "${EXTCAP_INTERFACE}"`);
        if (argv.extcapDlts) {
          io.out(dltsText());
          return EXIT.OK;
        }
        if (argv.extcapConfig) {
          io.out(configText());
          return EXIT.OK;
        }
        return await capture(argv);
      }
      if (argv.extcapVersion !== undefined) {
        io.out(versionLine());
        return EXIT.OK;
      }
      throw new ConfigError('extcap: give --extcap-interfaces, --extcap-dlts, --extcap-config, --capture or --install-script (Wireshark calls this; see README "Wireshark live view")');
    } catch (e) {
      return reportError(e);
    }
  },
};

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
    'arg {number=2}{call=--nic}{display=NIC profile}{type=selector}{tooltip=NIC offload profile the gso stage decides against}',
    'arg {number=3}{call=--view}{display=View}{type=radio}{tooltip=driver: what the kernel hands the NIC driver; wire: what leaves the NIC}',
    'arg {number=4}{call=--speed}{display=Speed}{type=double}{default=1}{tooltip=Multiple of the captured speed}',
    'arg {number=5}{call=--loop}{display=Loop}{type=integer}{range=0,1000000}{default=1}{tooltip=Passes over the input (0 = until the capture is stopped)}',
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

async function capture(argv: Record<string, any>): Promise<number> {
  const fifo = argv.fifo as string | undefined;
  if (!fifo) throw new ConfigError('extcap --capture: --fifo PATH is required');
  const input = nonEmpty(argv.input);
  if (!input) throw new ConfigError('extcap --capture: --input FILE is required (the "Input capture" option)');
  const view = nonEmpty(argv.view);
  if (view !== undefined && view !== 'driver' && view !== 'wire') throw new ConfigError(`extcap: --view expects driver or wire, got "${view}"`);
  const pipelineFile = nonEmpty(argv.pipeline);
  const doc = pipelineFile ? readPipelineFile(pipelineFile) : {};
  const config = resolvePipeline(doc, pipelineFile ?? 'extcap', { nic: nonEmpty(argv.nic), view: view as View | undefined });
  const rate = rateFromOptions({ speed: argv.speed });
  const { runReplay } = await import('../../pipeline/replay/replay.js');
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  // Wireshark stops an extcap capture with SIGTERM (SIGINT from a terminal).
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await runReplay({
      input,
      to: fifo,
      config,
      rate,
      loop: argv.loop ?? 1,
      signal: ac.signal,
      onWarning: (m) => io.err(`capflow: ${m}\n`),
    });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
  return EXIT.OK;
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
  const parts = [process.execPath, ...process.execArgv, script].map(shellQuote).join(' ');
  return [
    '#!/bin/sh',
    '# Wireshark extcap wrapper for capflow (generated by `capflow extcap --install-script`).',
    '# Install: save into the personal extcap folder (Wireshark: Help > About > Folders), chmod +x.',
    `exec ${parts} extcap "$@"`,
    '',
  ].join('\n');
}
