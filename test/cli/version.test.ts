/**
 * `capflow --version` is capflow's version also when capflow is installed as a dependency of
 * another project (its yargs then lives in the host's node_modules, and yargs' own guess reads
 * the host's package.json).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      // capflow's runtime dependencies and theirs, hoisted next to it as npm installs them
      // (copies, not links: Node would resolve a link back into this repository).
      const seen = new Set<string>();
      const depsOf = (pkgDir: string): string[] => {
        const own = Object.keys(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).dependencies ?? {});
        // Packages nested in its own node_modules need theirs from the top level too.
        const nested = join(pkgDir, 'node_modules');
        const inner = existsSync(nested) ? readdirSync(nested).filter((n) => !n.startsWith('.')).flatMap((n) => depsOf(join(nested, n))) : [];
        return [...own, ...inner];
      };
      const copy = (name: string): void => {
        if (seen.has(name) || !existsSync(join(repoRoot, 'node_modules', name))) return;
        seen.add(name);
        const from = join(repoRoot, 'node_modules', name);
        cpSync(from, join(host, 'node_modules', name), { recursive: true });
        for (const d of depsOf(from)) copy(d);
      };
      for (const d of Object.keys(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).dependencies)) copy(d);
      const r = spawnSync(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), '--version'], { cwd: host, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(own);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
