/** Typed access to the `pcap-parser` npm package (CommonJS, no types), for cross-check tests only. */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

export interface PcapParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}

export interface PcapParserModule {
  parse(input: string | NodeJS.ReadableStream): EventEmitter;
}

export const pcapParser = createRequire(import.meta.url)('pcap-parser') as PcapParserModule;

/** Every packet of a classic µs pcap, as pcap-parser sees it. */
export function parseWithPcapParser(input: string | NodeJS.ReadableStream): Promise<{ linkType: number; packets: PcapParserPacket[] }> {
  return new Promise((resolve, reject) => {
    const packets: PcapParserPacket[] = [];
    let linkType = -1;
    const p = pcapParser.parse(input);
    p.on('globalHeader', (h: { linkLayerType: number }) => (linkType = h.linkLayerType));
    p.on('packet', (pk: PcapParserPacket) => packets.push({ header: pk.header, data: Buffer.from(pk.data) }));
    p.on('error', reject);
    p.on('end', () => resolve({ linkType, packets }));
  });
}
