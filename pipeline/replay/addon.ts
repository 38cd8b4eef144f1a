/**
 * Lazy loader of the native AF_PACKET addon (native/af_packet.c, built by `npm run build:addon`).
 * Nothing else in capflow needs it: only `replay --to iface:NAME` loads it, on first use.
 *
 * Looked up: $CAPFLOW_ADDON (a path to the .node file; when set, the only candidate), else the
 * build next to this file (source tree: pipeline/replay/native/build/...) and the same folder
 * seen from the compiled dist/pipeline/replay/.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface AfPacketAddon {
  /** AF_PACKET SOCK_RAW socket bound to `ifname` (send only); with PACKET_VNET_HDR when vnetHdr. */
  open(ifname: string, vnetHdr: boolean): number;
  /** One frame ([vnet hdr][frame] as one buffer on a vnet socket). Returns bytes sent; throws with `code`. */
  send(fd: number, frame: Uint8Array): number;
  /** sendmmsg of up to MAX_BATCH frames, each preceded by its 10 bytes of `vnetHdrs` when given. Returns messages sent. */
  sendv(fd: number, frames: Uint8Array[], vnetHdrs: Uint8Array | null): number;
  close(fd: number): void;
  readonly VNET_HDR_LEN: number;
  readonly MAX_BATCH: number;
}

export const ADDON_FILE = 'capflow_af_packet.node';

export class AddonError extends Error {
  override readonly name = 'AddonError';
  readonly code = 'ERR_ADDON_MISSING';
  constructor(message: string) {
    super(message);
  }
}

export const ADDON_MISSING_MESSAGE = 'iface: needs the native addon (build failed or not built: run npm run build:addon)';

let cached: AfPacketAddon | null = null;

/** Candidate paths of the addon, most specific first. */
export function addonCandidates(): string[] {
  const out: string[] = [];
  // An explicit path is the only candidate (so a test or a packager can point elsewhere, or nowhere).
  if (process.env.CAPFLOW_ADDON) return [process.env.CAPFLOW_ADDON];
  // From the sources, from dist/pipeline/replay, and from the bundled binary in dist/cli.
  for (const rel of ['./native/build/Release/', '../../../pipeline/replay/native/build/Release/', '../../pipeline/replay/native/build/Release/', './native/build/Debug/']) {
    out.push(fileURLToPath(new URL(rel + ADDON_FILE, import.meta.url)));
  }
  return out;
}

/** The addon, loaded on first call. Throws AddonError with the contract's message when it is missing. */
export function loadAfPacketAddon(): AfPacketAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let loadError = '';
  for (const path of addonCandidates()) {
    if (!existsSync(path)) continue;
    try {
      cached = require(path) as AfPacketAddon;
      return cached;
    } catch (e) {
      loadError = ` (${path}: ${(e as Error).message})`;
    }
  }
  throw new AddonError(ADDON_MISSING_MESSAGE + loadError);
}

/** True when the addon can be loaded (for tests and `capflow replay --help` hints). */
export function haveAfPacketAddon(): boolean {
  try {
    loadAfPacketAddon();
    return true;
  } catch {
    return false;
  }
}
