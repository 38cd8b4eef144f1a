/**
 * `capflow <cmd> --help` teaches (usage, two or three examples, no yargs artefacts on the
 * arguments) and matches the README: its usage line, every example and every option are there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capflow, haveBuild, repoRoot } from './built-cli.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const COMMANDS = ['run', 'info', 'diff', 'replay', 'nic', 'drops'];

describe.skipIf(!haveBuild)('capflow <cmd> --help', () => {
  for (const cmd of COMMANDS) {
    it(`${cmd}: usage, examples and options as in the README`, () => {
      const r = capflow([cmd, '--help'], { env: { COLUMNS: '100' } });
      expect(r.status).toBe(0);
      const help = r.stdout;
      const usage = help.split('\n')[0]!.replace(/ \[options\]$/, '');
      expect(usage.startsWith(`capflow ${cmd} `)).toBe(true);
      expect(readme, usage).toContain(usage);

      const block = help.slice(help.indexOf('\nExamples:\n') + 11).split('\n\n')[0]!;
      const examples = block.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
      expect(examples.length, 'examples').toBeGreaterThanOrEqual(2);
      expect(examples.length, 'examples').toBeLessThanOrEqual(3);
      for (const e of examples) expect(readme, e).toContain(e);

      // Each option by its long name or its one-letter alias (-o, -q).
      const options = [...help.matchAll(/^ +(?:(-\w), )?(--[a-z][\w-]*)/gm)].filter((m) => m[2] !== '--help' && m[2] !== '--version');
      expect(options.length).toBeGreaterThan(0);
      const missing = options.filter((m) => !new RegExp(`${m[2]}\\b`).test(readme) && !(m[1] && readme.includes(`${m[1]} `))).map((m) => m[2]);
      expect(missing, `${cmd} options missing from the README`).toEqual([]);

      expect(help).not.toContain('Positionals:');
      expect(help).not.toMatch(/\[default: \[\]\]/);
    });
  }

  it('run --help lists the stages and where their options are documented', () => {
    const help = capflow(['run', '--help']).stdout;
    expect(help).toMatch(/Stages: vxlan-decap, tunnel-key, vxlan-encap, mpls-push, mpls-pop, gso/);
    expect(help).toContain('README, sections "Stages"');
  });

  it('numeric-looking file names stay names', () => {
    const r = capflow(['info', '1e3']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('1e3');
  });
});
