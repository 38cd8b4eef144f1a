/**
 * Stable shards of a batch's input list, so many machines split the work without talking to each
 * other: an input belongs to shard (first 32 bits of SHA-1 of its path relative to the root) mod N.
 * The relative path uses '/' on every platform, so `printf %s a/b.pcap | sha1sum` reproduces it.
 */
import { relative, resolve, sep } from 'node:path';
import { ConfigError } from '../config-error.js';

export interface Shard {
  /** 0-based shard index K. */
  index: number;
  /** Number of shards N. */
  count: number;
}

/** Parse "K/N" (0 <= K < N). */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new ConfigError(`--shard: expected K/N (e.g. 0/4), got "${spec}"`);
  return checkedShard(Number(m[1]), Number(m[2]), '--shard');
}

/**
 * The shard of a Kubernetes Indexed Job: K from JOB_COMPLETION_INDEX (set in every pod of an
 * Indexed Job), N from --shards.
 */
export function shardFromEnvironment(count: number, env: NodeJS.ProcessEnv = process.env): Shard {
  const raw = env.JOB_COMPLETION_INDEX;
  if (raw === undefined || raw === '') {
    throw new ConfigError('--shards: JOB_COMPLETION_INDEX is not set (it is set in the pods of a Kubernetes Indexed Job); give --shard K/N instead');
  }
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`--shards: JOB_COMPLETION_INDEX must be a non-negative integer, got "${raw}"`);
  return checkedShard(Number(raw.trim()), count, '--shards with JOB_COMPLETION_INDEX');
}

function checkedShard(index: number, count: number, what: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1) throw new ConfigError(`${what}: the shard count must be at least 1, got ${count}`);
  if (!Number.isSafeInteger(index) || index >= count) {
    throw new ConfigError(`${what}: shard index ${index} is out of range for ${count} shards (0..${count - 1})`);
  }
  return { index, count };
}

/** The path that is hashed: `input` relative to `root`, with '/' separators. */
export function shardKey(input: string, root: string): string {
  const rel = relative(resolve(root), resolve(input));
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** Shard number (0..count-1) of one input. */
export function shardOf(input: string, root: string, count: number): number {
  const digest = process.getBuiltinModule('node:crypto').createHash('sha1').update(shardKey(input, root), 'utf8').digest();
  return digest.readUInt32BE(0) % count;
}

/** The inputs of one shard, in their original order, with their positions in the full list. */
export function selectShard(inputs: readonly string[], shard: Shard, root: string): { input: string; index: number }[] {
  const picked: { input: string; index: number }[] = [];
  inputs.forEach((input, index) => {
    if (input === '-') throw new ConfigError('--shard: stdin (-) cannot be sharded; give file names');
    if (shardOf(input, root, shard.count) === shard.index) picked.push({ input, index });
  });
  return picked;
}
