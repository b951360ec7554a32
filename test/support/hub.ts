import type { Frame, HubSocket } from '../../src/hub/index.js';
import type { TransactionState } from '../../src/store/index.js';

/** A socket that records what the hub did to it. */
export class RecordingSocket implements HubSocket {
  readonly frames: Record<string, unknown>[] = [];
  readonly sent: Frame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  sendFrame(frame: Frame): void {
    if (this.closedWith) throw new Error('send after close');
    this.sent.push(frame);
    this.frames.push(JSON.parse(frame.text) as Record<string, unknown>);
  }
  sendFinalFrame(frame: Frame, code: number, reason: string): void {
    this.sendFrame(frame);
    this.closeWith(code, reason);
  }
  closeWith(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
}

export function state(
  transactionId: string,
  status: TransactionState['status'],
  version: number,
): TransactionState {
  const settled = status === 'settled';
  return {
    transactionId,
    status,
    version,
    suiTxDigest: settled ? 'DigestOfTheSettlement1111111111111111111111' : null,
    settledAt: settled ? new Date() : null,
    late: false,
  };
}
