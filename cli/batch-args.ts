/**
 * The batch options of `capflow run`, checked before anything is read or written (usage errors
 * exit 2). Apart from the batch itself (run-batch.ts), which a run of one output never loads.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../pipeline/config-error.js';
import { parseShard, shardFromEnvironment, type Shard } from '../pipeline/batch/shard.js';

/** The batch options. */
export interface BatchArgs {
  jobs: number;
  shard: Shard | null;
  root: string;
  skipExisting: boolean;
  failFast: boolean;
  summary: string | undefined;
}

const BATCH_ONLY = ['jobs', 'shard', 'shards', 'root', 'skip-existing', 'fail-fast', 'summary'] as const;

export function batchArgs(argv: Record<string, any>): BatchArgs {
  if (!argv.outDir) {
    const given = BATCH_ONLY.filter((k) => argv[k] !== undefined && argv[k] !== false);
    if (given.length) throw new ConfigError(`run: --${given[0]} needs --out-dir (a batch writes one output per input)`);
  }
  let jobs = availableParallelism();
  if (argv.jobs !== undefined) {
    jobs = Number(argv.jobs);
    if (!Number.isSafeInteger(jobs) || jobs < 1) throw new ConfigError(`--jobs: expected a whole number of at least 1, got "${argv.jobs}"`);
  }
  if (argv.shard !== undefined && argv.shards !== undefined) throw new ConfigError('run: --shard K/N and --shards N exclude each other');
  let shard: Shard | null = null;
  if (argv.shard !== undefined) shard = parseShard(String(argv.shard));
  else if (argv.shards !== undefined) {
    const n = Number(argv.shards);
    if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`--shards: expected a whole number of at least 1, got "${argv.shards}"`);
    shard = shardFromEnvironment(n);
  }
  const root = argv.root !== undefined ? String(argv.root) : '.';
  if (argv.root !== undefined && !shard) throw new ConfigError('run: --root only says how inputs are hashed into shards: give --shard K/N or --shards N');
  if (argv.root !== undefined && !isDirectory(root)) throw new ConfigError(`--root: ${root} is not a directory`);
  return { jobs, shard, root, skipExisting: argv.skipExisting === true, failFast: argv.failFast === true, summary: argv.summary };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

