/**
 * Gate for tests that need the real kernel (root, netns, ip, tcpdump, python3, ethtool, tshark).
 *
 * Outside CI a missing facility skips the suite and prints why. With CI=true nothing is skipped:
 * `gate.assertReady()` (call it in beforeAll) throws the reason so the run fails.
 *
 *   const gate = kernelGate();
 *   describe.skipIf(gate.skip)(`kernel ref${gate.label}`, () => { beforeAll(() => gate.assertReady()); ... });
 */
import { haveKernelTools } from '../kernel/netns.js';
import { haveTshark } from '../kernel/tshark.js';

export interface KernelGate {
  ok: boolean;
  why?: string;
  /** True when the suite should be skipped (facility missing and not in CI). */
  skip: boolean;
  /** Suffix for the describe title explaining a skip. */
  label: string;
  assertReady(): void;
}

export function kernelGate(opts: { tshark?: boolean } = { tshark: true }): KernelGate {
  let { ok, why } = haveKernelTools();
  if (ok && opts.tshark !== false && !haveTshark()) {
    ok = false;
    why = '`tshark` not found in PATH (apt-get install -y tshark)';
  }
  const ci = process.env.CI === 'true';
  const skip = !ok && !ci;
  if (skip) console.warn(`[kernel tests skipped] ${why}`);
  return {
    ok,
    why,
    skip,
    label: skip ? ` (skipped: ${why})` : '',
    assertReady() {
      if (!ok) throw new Error(`kernel reference tests cannot run (CI=true forbids skipping): ${why}`);
    },
  };
}
