/**
 * Every stage name of the contract. A name whose module is not built yet is listed with
 * `definition: null`, so a pipeline naming it fails with "not implemented yet" instead of
 * being ignored.
 */
import type { StageDefinition } from './stage.js';
import { vxlanDecap } from './vxlan-decap.js';
import { tunnelKey } from './tunnel-key.js';
import { vxlanEncap } from './vxlan-encap.js';
import { mplsPushStage } from './mpls-push.js';
import { mplsPopStage } from './mpls-pop.js';

export interface StageEntry {
  name: string;
  definition: StageDefinition<any> | null;
}

const entries: StageEntry[] = [
  { name: 'vxlan-decap', definition: vxlanDecap },
  { name: 'tunnel-key', definition: tunnelKey },
  { name: 'vxlan-encap', definition: vxlanEncap },
  { name: 'mpls-push', definition: mplsPushStage },
  { name: 'mpls-pop', definition: mplsPopStage },
];

export function stageEntry(name: string): StageEntry | undefined {
  return entries.find((e) => e.name === name);
}

export function stageNames(): string[] {
  return entries.map((e) => e.name);
}
