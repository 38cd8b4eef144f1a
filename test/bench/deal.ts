import { basename, join } from 'node:path';

/**
 * The batch's file-copy reference: the input files dealt to `processes` copies in turn (file i to
 * copy i mod processes, so each gets the same share of sizes and order), each copy as the
 * `IN OUT IN OUT ...` arguments baseline-copy.mjs takes, every output named after its input in
 * `outDir`. Copies that would get no file are left out.
 */
export function dealCopyPairs(files: readonly string[], outDir: string, processes: number): string[][] {
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`bench: ${processes} copy processes`);
  const names = new Set(files.map((f) => basename(f)));
  if (names.size !== files.length) throw new Error('bench: two batch inputs share a file name');
  const shares: string[][] = Array.from({ length: Math.min(processes, files.length) }, () => []);
  files.forEach((f, i) => shares[i % processes]!.push(f, join(outDir, basename(f))));
  return shares;
}
