/**
 * The pacing request of a replay, in tcpreplay's terms (--multiplier, --pps, --mbps,
 * --topspeed), plus an optional link speed that spaces packets by their serialization time.
 */
import { ConfigError } from '../config-error.js';

export type RateSpec =
  | { kind: 'speed'; speed: number }
  | { kind: 'pps'; pps: number }
  | { kind: 'mbps'; mbps: number }
  | { kind: 'topspeed' };

/** The unit achieved rates are reported in, per mode. */
export function rateUnit(r: RateSpec): string {
  switch (r.kind) {
    case 'speed':
      return 'x';
    case 'pps':
      return 'pps';
    case 'mbps':
      return 'Mbps';
    case 'topspeed':
      return '';
  }
}

export function rateValue(r: RateSpec): number | null {
  switch (r.kind) {
    case 'speed':
      return r.speed;
    case 'pps':
      return r.pps;
    case 'mbps':
      return r.mbps;
    case 'topspeed':
      return null;
  }
}

/** Build a RateSpec from the (mutually exclusive) CLI choices; speed 1 when none is given. */
export function rateFromOptions(o: { speed?: number | undefined; pps?: number | undefined; mbps?: number | undefined; topspeed?: boolean | undefined }): RateSpec {
  const given = [o.speed !== undefined, o.pps !== undefined, o.mbps !== undefined, o.topspeed === true].filter(Boolean).length;
  if (given > 1) throw new ConfigError('replay: --speed, --pps, --mbps and --topspeed exclude each other');
  const positive = (name: string, v: number): number => {
    if (!Number.isFinite(v) || v <= 0) throw new ConfigError(`replay: --${name} expects a positive number, got ${v}`);
    return v;
  };
  if (o.topspeed) return { kind: 'topspeed' };
  if (o.pps !== undefined) return { kind: 'pps', pps: positive('pps', o.pps) };
  if (o.mbps !== undefined) return { kind: 'mbps', mbps: positive('mbps', o.mbps) };
  return { kind: 'speed', speed: positive('speed', o.speed ?? 1) };
}

const SUFFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * A link speed in bits per second: a number with an optional k/M/G/T suffix and an optional
 * "bps"/"b"/"bit" unit ("10G", "25Gbps", "100m", "1.5e9"). Throws ConfigError otherwise.
 */
export function parseLinkSpeed(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:bps|bit\/s|bits?|b)?\s*$/i.exec(text);
  const v = m ? Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`replay: --link-speed expects a rate like 10G, 2.5G, 100M or 1e9 (bits per second), got "${text}"`);
  }
  return v;
}

/** "10 Gbit/s", "100 Mbit/s" for messages. */
export function formatBitRate(bps: number): string {
  for (const [s, f] of [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (bps >= f) return `${+(bps / f).toFixed(3)} ${s}bit/s`;
  }
  return `${+bps.toFixed(3)} bit/s`;
}
