/**
 * Lexical rules shared by capflow's comment readers (tunnel metadata, GSO notes), and by the
 * Wireshark dissector (pipeline/wireshark/capflow.lua), which implements the same rules in Lua:
 * the grammar is public (README, "Per-packet metadata in pcapng").
 */

/** Fields of a comment are separated by ASCII whitespace (Lua's %s). */
export const FIELD_SEPARATOR = /[ \t\n\v\f\r]+/;

const NUMBER = /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

/**
 * A number of a comment: decimal, or hex with a 0x prefix; at most 10 characters and at most
 * `max`. Null otherwise (JavaScript's Number() would also take "1e3", "0b1" or "").
 */
export function commentNumber(text: string, max: number): number | null {
  if (text.length > 10 || !NUMBER.test(text)) return null;
  const v = text.length > 2 && (text[1] === 'x' || text[1] === 'X') ? parseInt(text.slice(2), 16) : parseInt(text, 10);
  return v <= max ? v : null;
}
