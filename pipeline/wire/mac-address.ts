/** MAC address text <-> bytes. Used at configuration boundaries, not per packet. */

/** "02:00:00:00:00:01" (six hex pairs, colon-separated). */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Bytes of a MAC address already validated against MAC_PATTERN. */
export function parseMac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(b: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}
