/**
 * The egress options (top-level `egress:` of a pipeline file, and the older `- stage: gso`), as
 * schemas. Apart from egress.ts so that a run without a pipeline to validate (a plain copy, a
 * batch worker) never loads zod: the egress itself needs only the EgressOptions type.
 */
import * as z from 'zod';
import { mssOption, udpPort } from './option-schemas.js';

/** The top-level `egress:` of a pipeline file. */
export const egressOptions = z
  .object({
    /** gso_size for captured super-packets: `auto` (see describeMssRule in egress.ts) or a number of bytes. */
    mss: mssOption.default('auto'),
    /** Egress MTU (IP bytes); default: the NIC profile's. Given, it applies to every packet. */
    mtu: z.number().int().min(68).max(65535).optional(),
    /** Non-GSO packets longer than the MTU: kernel (fragment IPv4 without DF, drop the rest) | drop | ignore. */
    mtuPolicy: z.enum(['kernel', 'drop', 'ignore']).default('kernel'),
    /** Repair captured checksums (capture taken with checksum offload on). */
    checksum: z
      .object({ fix: z.boolean().default(false) })
      .strict()
      .default({ fix: false }),
  })
  .strict();

export type EgressOptions = z.output<typeof egressOptions>;

/**
 * The older spelling, `- stage: gso` as the last stage: the egress options plus `vxlanPorts`
 * (now the pipeline's top-level `vxlanPorts`).
 */
export const gsoStageOptions = egressOptions.extend({ vxlanPorts: z.array(udpPort).optional() }).strict();
