/** Replay: paced output of the pipeline to live destinations. */
export { runReplay, type ReplayOptions, type ReplaySummary, type StopReason } from './replay.js';
export { Pacer, type PacerOptions, type RateReport } from './pacer.js';
export { Schedule, type ScheduleOptions } from './schedule.js';
export { realClock, VirtualClock, type Clock } from './clock.js';
export { rateFromOptions, parseLinkSpeed, formatBitRate, type RateSpec } from './rate.js';
export { MemoryDestination, type Destination, type DestinationKind, type DestinationStats } from './destination.js';
export { CaptureDestination } from './capture-destination.js';
export { IfaceDestination, PERMISSION_MESSAGE } from './iface-destination.js';
export { parseDestination, openDestination, type DestinationSpec } from './open-destination.js';
export { writeVnetHdr, VNET_HDR_LEN, VIRTIO_NET_HDR } from './vnet-hdr.js';
export { loadAfPacketAddon, haveAfPacketAddon, AddonError, ADDON_MISSING_MESSAGE, type AfPacketAddon } from './addon.js';
export { ReplayError, type ReplayErrorCode } from './errors.js';
