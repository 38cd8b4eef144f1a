/** zod schemas shared by the pipeline file and the stages' options. */
import * as z from 'zod';
import { MAC_PATTERN } from './wire/mac-address.js';

export const macAddress = z.string().regex(MAC_PATTERN, 'expected a MAC address like 02:00:00:00:00:01');

/** 48: the kernel's smallest TCP MSS (`tcp_min_snd_mss`, net/ipv4/tcp_output.c); see MIN_GSO_MSS. */
const MSS_EXPECTED = "expected a number 48..65535 or auto (48 is the kernel's smallest TCP MSS, tcp_min_snd_mss)";

/** gso_size of a super-packet: `auto` or a number of bytes. */
export const mssOption = z.union([z.literal('auto'), z.number({ error: MSS_EXPECTED }).int(MSS_EXPECTED).min(48, MSS_EXPECTED).max(65535, MSS_EXPECTED)], {
  error: MSS_EXPECTED,
});

/** A UDP/TCP port usable as a destination (1..65535). */
export const udpPort = z.number().int().min(1, 'UDP port must be 1..65535').max(65535, 'UDP port must be 1..65535');
