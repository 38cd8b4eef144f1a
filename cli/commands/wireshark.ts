/** capflow wireshark install|uninstall [--dry-run]: the extcap and the capflow dissector where Wireshark looks. */
import type { CapflowCommand } from '../command.js';
import { EXIT, io } from '../command.js';
import { reportError } from '../errors.js';
import { ConfigError } from '../../pipeline/config-error.js';
import { findWiresharkFolders } from '../../pipeline/wireshark/folders.js';
import { type Action, type Step, applyInstall, applyUninstall, planInstall, planUninstall } from '../../pipeline/wireshark/install.js';
import { installScript } from './extcap.js';

const DONE: Record<Action, string> = {
  install: 'installed',
  update: 'updated',
  unchanged: 'unchanged',
  remove: 'removed',
  absent: 'not present',
  foreign: 'not capflow\'s: left alone',
};

const PLANNED: Record<Action, string> = {
  install: 'would install',
  update: 'would update',
  unchanged: 'unchanged',
  remove: 'would remove',
  absent: 'not present',
  foreign: 'not capflow\'s: would be left alone',
};

export const wiresharkCommand: CapflowCommand = {
  command: 'wireshark <action>',
  describe: 'install or uninstall the capflow extcap interface and dissector in the personal folders of the installed Wireshark',
  builder: (y) =>
    y
      .positional('action', { choices: ['install', 'uninstall'] as const, describe: 'install: write (or refresh) both files; uninstall: remove them' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be done, change nothing' })
      .option('tshark', { type: 'string', default: 'tshark', describe: 'the tshark asked for the folders (`tshark -G folders`)' })
      .example('$0 wireshark install', 'then restart Wireshark: the "capflow replay" interface and the capflow.* fields appear')
      .example('$0 wireshark install --dry-run', 'show the folders and what would change'),
  run: async (argv) => {
    try {
      const action = argv.action as string;
      if (action !== 'install' && action !== 'uninstall') throw new ConfigError(`wireshark: expected install or uninstall, got "${action}"`);
      const dry = argv.dryRun === true;
      const folders = findWiresharkFolders({ tshark: argv.tshark as string });
      io.out(`Wireshark folders from ${folders.source === 'tshark' ? `\`${argv.tshark} -G folders\` (${folders.detail})` : `defaults (${folders.detail})`}\n`);
      let steps: Step[];
      if (action === 'install') {
        const plan = planInstall(folders, installScript());
        if (!dry) applyInstall(plan);
        steps = plan;
      } else {
        steps = planUninstall(folders);
        if (!dry) applyUninstall(steps);
      }
      const words = dry ? PLANNED : DONE;
      for (const s of steps) io.out(`${s.what === 'extcap' ? 'extcap:   ' : 'dissector:'} ${s.path} (${words[s.action]})\n`);
      if (!dry && action === 'install' && steps.some((s) => s.action !== 'unchanged')) {
        io.out('Restart Wireshark to load them; `tshark -D` lists the "capflow" interface.\n');
      }
      return EXIT.OK;
    } catch (e) {
      return reportError(e);
    }
  },
};
