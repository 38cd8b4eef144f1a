/**
 * Ending an extcap capture that cannot start. Wireshark's dumpcap opens the FIFO for reading
 * and waits there until the extcap opens it for writing; an extcap that exits without opening it
 * leaves dumpcap (and `tshark -i`) waiting forever. So the extcap opens the FIFO, writes nothing
 * and closes it: the reader sees end-of-file at once and reports the extcap's message.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Open `fifo` for writing and close it. Non-blocking: while no reader has it open yet (ENXIO),
 * retry until `timeoutMs`, so this never hangs when the reader is gone. False if it never opened.
 */
export async function releaseFifo(fifo: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENXIO' || Date.now() >= deadline) return false;
    }
    await sleep(20);
  }
}
