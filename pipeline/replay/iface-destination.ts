/**
 * `--to iface:NAME`: frames leave a Linux interface through an AF_PACKET socket (native addon),
 * one sendmmsg per batch. With `vnetHdr`, each frame carries a virtio_net_hdr so super-packets
 * are segmented by the kernel (software GSO) or the NIC, and partial checksums are completed.
 *
 * Per-packet send errors never throw: they are counted by reason (`send-emsgsize`,
 * `send-enobufs` after retries, `vnet-gso-tunnel`, ...) and the replay goes on.
 */
import type { Packet } from '../packet.js';
import { CSUM } from '../packet.js';
import { LINKTYPE } from '../pcap/link-type.js';
import { loadAfPacketAddon, type AfPacketAddon } from './addon.js';
import { newDestinationStats, type Destination } from './destination.js';
import { VNET_HDR_LEN, writeVnetHdr } from './vnet-hdr.js';
import { ReplayError } from './errors.js';

export interface IfaceDestinationOptions {
  ifname: string;
  vnetHdr: boolean;
  onWarning?: (key: string, message: string) => void;
  /** Injected addon (tests); default: the native one, loaded now. */
  addon?: AfPacketAddon;
  /** Sleep used between retries when the socket buffer is full. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRY_CODES = new Set(['ENOBUFS', 'EAGAIN']);
const MAX_RETRIES = 50;

export class IfaceDestination implements Destination {
  readonly kind = 'iface';
  readonly name: string;
  readonly virtualTime = false;
  readonly maxBatch: number;
  readonly stats = newDestinationStats();
  private readonly addon: AfPacketAddon;
  private fd: number;
  private frames: Uint8Array[] = [];
  private readonly hdrs: Uint8Array | null;
  private readonly warn: (key: string, message: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: IfaceDestinationOptions) {
    this.name = `iface:${o.ifname}`;
    this.warn = o.onWarning ?? (() => {});
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.addon = o.addon ?? loadAfPacketAddon();
    this.maxBatch = this.addon.MAX_BATCH;
    this.hdrs = o.vnetHdr ? new Uint8Array(this.maxBatch * VNET_HDR_LEN) : null;
    try {
      this.fd = this.addon.open(o.ifname, o.vnetHdr);
    } catch (e) {
      throw openError(o.ifname, e);
    }
  }

  get pending(): number {
    return this.frames.length;
  }

  begin(): void {}

  setInputInterfaces(): void {}

  add(pkt: Packet, _sendMs: number): boolean {
    if (pkt.linkType !== LINKTYPE.ETHERNET) {
      this.fail('send-not-ethernet');
      this.warn('iface-linktype', `${this.name}: only Ethernet frames can be sent; packets of link type ${pkt.linkType} are counted as send-not-ethernet (pipeline linkLayer: {to: ethernet} converts them)`);
      return true;
    }
    if (this.hdrs) {
      const reason = writeVnetHdr(pkt, this.hdrs, this.frames.length * VNET_HDR_LEN);
      if (reason) {
        this.fail(reason);
        this.warn(`iface-${reason}`, `${this.name}: ${vnetReasonText(reason)}`);
        return true;
      }
    } else if (pkt.gsoSize > 0) {
      this.warn('iface-super', `${this.name}: super-packets (GSO) are larger than the MTU; the kernel refuses them without --vnet-hdr (segment them in capflow with --view wire, or pass --vnet-hdr)`);
    } else if (pkt.csumMode === CSUM.PARTIAL) {
      this.warn('iface-partial', `${this.name}: packets with a partial checksum leave with the pseudo-header sum in the checksum field; pass --vnet-hdr to have the kernel complete it, or --view wire`);
    }
    this.frames.push(pkt.buf.subarray(pkt.head, pkt.tail));
    return this.frames.length < this.maxBatch;
  }

  async flush(): Promise<void> {
    const frames = this.frames;
    let i = 0;
    let retries = 0;
    while (i < frames.length) {
      const batch = i === 0 ? frames : frames.slice(i);
      const hdrs = this.hdrs ? this.hdrs.subarray(i * VNET_HDR_LEN) : null;
      let n: number;
      try {
        n = this.addon.sendv(this.fd, batch, hdrs);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'EIO';
        if (RETRY_CODES.has(code) && retries < MAX_RETRIES) {
          retries++;
          await this.sleep(1);
          continue;
        }
        if (code === 'EPERM' || code === 'EACCES') throw permissionError(e);
        if (code === 'ENETDOWN' || code === 'ENXIO' || code === 'ENODEV') {
          this.warn('iface-down', `${this.name}: interface is down or gone (${(e as Error).message}); packets counted as send-${code.toLowerCase()}`);
        }
        this.fail(`send-${code.toLowerCase()}`);
        i++;
        continue;
      }
      retries = 0;
      for (let k = i; k < i + n; k++) this.stats.bytes += frames[k]!.length;
      this.stats.packets += n;
      i += n;
    }
    this.frames = [];
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closeFd();
    }
  }

  async abort(): Promise<void> {
    this.frames = [];
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      this.addon.close(this.fd);
    } catch {
      // closing a socket we are discarding: nothing to do about an error
    }
    this.fd = -1;
  }

  private fail(reason: string): void {
    this.stats.errors[reason] = (this.stats.errors[reason] ?? 0) + 1;
  }
}

function vnetReasonText(reason: string): string {
  switch (reason) {
    case 'vnet-gso-tunnel':
      return 'tunnel GSO (VXLAN super-packets) cannot be expressed in a virtio_net_hdr; counted as vnet-gso-tunnel (use --view wire, or a NIC profile without tunnel segmentation offload)';
    case 'vnet-gso-size':
      return 'gso_size does not fit the virtio_net_hdr; counted as vnet-gso-size';
    case 'vnet-bad-csum-start':
      return 'partial checksum start lies outside the frame; counted as vnet-bad-csum-start';
    default:
      return `GSO type not expressible in a virtio_net_hdr; counted as ${reason}`;
  }
}

export const PERMISSION_MESSAGE = 'permission denied: AF_PACKET needs CAP_NET_RAW';

function permissionError(e: unknown): ReplayError {
  return new ReplayError('ERR_REPLAY_PERMISSION', `${PERMISSION_MESSAGE} (${(e as Error).message})`);
}

function openError(ifname: string, e: unknown): Error {
  const code = (e as { code?: string }).code;
  if (code === 'EPERM' || code === 'EACCES') return permissionError(e);
  if (code === 'ENODEV' || code === 'ENXIO') return new ReplayError('ERR_REPLAY_NO_IFACE', `iface:${ifname}: no such interface in this network namespace`);
  return new ReplayError('ERR_REPLAY_IFACE', `iface:${ifname}: ${(e as Error).message}`);
}
