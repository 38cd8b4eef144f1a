/**
 * `capflow --version` is capflow's version also when capflow is installed as a dependency of
 * another project (its yargs then lives in the host's node_modules, and yargs' own guess reads
 * the host's package.json).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveBuild, repoRoot } from './built-cli.js';

describe.skipIf(!haveBuild)('capflow --version', () => {
  it("prints capflow's version inside a host project that depends on it", () => {
    const own = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
    const host = mkdtempSync(join(tmpdir(), 'capflow-host-'));
    try {
      writeFileSync(join(host, 'package.json'), JSON.stringify({ name: 'host-project', version: '9.8.7', dependencies: { capflow: own } }));
      const pkg = join(host, 'node_modules', 'capflow');
      mkdirSync(pkg, { recursive: true });
      cpSync(join(repoRoot, 'package.json'), join(pkg, 'package.json'));
      cpSync(join(repoRoot, 'dist'), join(pkg, 'dist'), { recursive: true });
      // capflow's runtime dependencies, hoisted next to it as npm installs them (copies, not
      // links: Node would resolve a link back into this repository).
      const deps = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repoRoot, encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('/node_modules/'));
      for (const d of deps) cpSync(d, join(host, 'node_modules', d.slice(d.lastIndexOf('/node_modules/') + '/node_modules/'.length)), { recursive: true });
      const r = spawnSync(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), '--version'], { cwd: host, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(own);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
