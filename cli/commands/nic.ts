/** capflow nic list | show NAME | import ETHTOOL_K_OUTPUT */
import { readFileSync, writeFileSync } from 'node:fs';
import { PROFILE_FILE_LIMIT, readBoundedTextFile } from '../../pipeline/config-file.js';
import type { CapflowCommand } from '../command.js';
import { EXIT, examples, io } from '../command.js';
import { reportError } from '../errors.js';
import { builtinProfiles, loadProfile, profileToJson, ProfileError } from '../../pipeline/nic/profile.js';
import { featureNames } from '../../pipeline/nic/features.js';
import { importEthtool } from '../../pipeline/nic/ethtool-import.js';
import { ConfigError } from '../../pipeline/config-error.js';

const EXAMPLES = examples([
  ['capflow nic show ixgbe --json > my-nic.json', 'a starting point for a custom profile: edit it, then --nic my-nic.json'],
  ['ethtool -k eth0 | capflow nic import - -o eth0.json', 'the profile of a real interface'],
  ['capflow nic list', 'the built-in profiles'],
]);

export const nicCommand: CapflowCommand = {
  command: 'nic <action> [target]',
  describe: 'NIC offload profiles: list, show NAME|FILE, import ETHTOOL_K_OUTPUT',
  builder: (y) =>
    y
      .usage(
        `$0 nic list | nic show NAME|FILE | nic import ETHTOOL_K_OUTPUT [--name N] [-o FILE]\n\n` +
          `NIC offload profiles: list the built-in ones, show one (as --nic takes it), or make one from the\n` +
          `output of \`ethtool -k IFACE\` (a file, or - for stdin).`,
      )
      .string(['action', 'target'])
      .epilogue(EXAMPLES)
      .option('name', { type: 'string', describe: 'import: name of the new profile (default: the interface name in the output)' })
      .option('output', { alias: 'o', type: 'string', describe: 'import: write the profile JSON here instead of stdout' })
      .option('json', { type: 'boolean', default: false, describe: 'list/show: JSON output' }),
  run: async (argv) => {
    try {
      if (!['list', 'show', 'import'].includes(String(argv.action))) {
        throw new ConfigError(`nic: ${String(argv.action)}: expected list, show or import`);
      }
      switch (argv.action) {
        case 'list':
          return list(argv.json);
        case 'show':
          if (!argv.target) throw new ConfigError('nic show: give a profile name or file');
          return show(String(argv.target), argv.json);
        case 'import':
          if (!argv.target) throw new ConfigError('nic import: give a file with saved `ethtool -k IFACE` output (- for stdin)');
          return importProfile(String(argv.target), argv.name, argv.output);
      }
      return EXIT.USAGE;
    } catch (e) {
      if (e instanceof ProfileError) return reportError(new ConfigError(e.message));
      return reportError(e);
    }
  },
};

function list(json: boolean): number {
  const profiles = builtinProfiles();
  if (json) {
    io.out(`${JSON.stringify(profiles.map((p) => ({ name: p.name, description: p.description, source: p.source })), null, 2)}\n`);
    return EXIT.OK;
  }
  const width = Math.max(...profiles.map((p) => p.name.length));
  for (const p of profiles) io.out(`${p.name.padEnd(width)}  ${p.description}\n`);
  return EXIT.OK;
}

function show(target: string, json: boolean): number {
  const p = loadProfile(target);
  const doc = profileToJson(p);
  if (json) {
    io.out(`${JSON.stringify({ ...doc, effective: effective(p), notes: p.notes }, null, 2)}\n`);
    return EXIT.OK;
  }
  io.out(`${JSON.stringify(doc, null, 2)}\n`);
  io.out(`\n# effective after register_netdevice / netdev_fix_features:\n`);
  for (const [k, v] of Object.entries(effective(p))) io.out(`#   ${k}: ${v.join(' ') || '(none)'}\n`);
  for (const n of p.notes) io.out(`# note: ${n}\n`);
  return EXIT.OK;
}

function effective(p: ReturnType<typeof loadProfile>) {
  return {
    features: featureNames(p.bits.features),
    hwEncFeatures: featureNames(p.bits.hwEnc),
    mplsFeatures: featureNames(p.bits.mpls),
    vlanFeatures: featureNames(p.bits.vlan),
    gsoPartialFeatures: featureNames(p.bits.partial),
  };
}

function importProfile(file: string, name: string | undefined, output: string | undefined): number {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readBoundedTextFile(file, PROFILE_FILE_LIMIT);
  } catch (e) {
    throw new ConfigError(`${file}: cannot read ethtool -k output: ${(e as Error).message}`);
  }
  const guessed = /^Features for ([^:\s]+):/m.exec(text)?.[1];
  const { profile, assumptions } = importEthtool(text, name ?? guessed ?? 'imported');
  const json = `${JSON.stringify(profile, null, 2)}\n`;
  if (output) writeFileSync(output, json);
  else io.out(json);
  for (const a of assumptions) io.err(`capflow: assumed: ${a}\n`);
  return EXIT.OK;
}
