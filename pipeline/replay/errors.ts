/** Boundary errors of replay (destinations, addon, permissions), with stable codes. */
export type ReplayErrorCode = 'ERR_REPLAY_PERMISSION' | 'ERR_REPLAY_NO_IFACE' | 'ERR_REPLAY_IFACE' | 'ERR_REPLAY_DESTINATION';

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly code: ReplayErrorCode,
    message: string,
  ) {
    super(message);
  }
}
