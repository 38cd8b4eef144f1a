#!/usr/bin/env node
/**
 * Assemble checksum.wat (wabt, a development dependency) and write its bytes into
 * summable-memory.ts as base64, so that capflow itself needs no assembler. With --check, only say
 * whether summable-memory.ts holds the bytes checksum.wat assembles to (exit 1 if not).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

const here = dirname(fileURLToPath(import.meta.url));
const watPath = join(here, 'checksum.wat');
const tsPath = join(here, 'summable-memory.ts');
const LINE = /^const CHECKSUM_WASM = '([A-Za-z0-9+/=]*)';$/m;

/** The module checksum.wat assembles to, as base64. */
export async function assembled() {
  const w = await wabt();
  const mod = w.parseWat('checksum.wat', readFileSync(watPath, 'utf8'), { simd: true, bulk_memory: true });
  try {
    mod.validate();
    return Buffer.from(mod.toBinary({}).buffer).toString('base64');
  } finally {
    mod.destroy();
  }
}

/** The base64 summable-memory.ts holds. */
export function embedded() {
  const m = LINE.exec(readFileSync(tsPath, 'utf8'));
  if (!m) throw new Error(`${tsPath}: no CHECKSUM_WASM line`);
  return m[1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const now = await assembled();
  if (process.argv.includes('--check')) {
    const same = now === embedded();
    console.log(same ? 'summable-memory.ts matches checksum.wat' : 'summable-memory.ts is out of date: run node pipeline/wire/build-checksum-wasm.mjs');
    process.exit(same ? 0 : 1);
  }
  const ts = readFileSync(tsPath, 'utf8');
  writeFileSync(tsPath, ts.replace(LINE, `const CHECKSUM_WASM = '${now}';`));
  console.log(`summable-memory.ts: ${Buffer.from(now, 'base64').length} bytes`);
}
