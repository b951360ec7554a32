/**
 * The start checkpoint is older than the history the node still keeps. Skipping ahead silently
 * would lose settlements, so the source stops and says so; the operator points the service at an
 * archival endpoint or accepts the gap by resetting the cursor.
 */
export class HistoryPrunedError extends Error {
  override name = 'HistoryPrunedError';

  constructor(
    readonly fromCheckpoint: bigint,
    readonly lowestAvailable: bigint | undefined,
    detail?: string,
  ) {
    const available =
      lowestAvailable === undefined ? '' : ` (lowest available: ${lowestAvailable.toString()})`;
    super(
      `Chain history from checkpoint ${fromCheckpoint.toString()} is no longer available` +
        `${available}${detail ? `: ${detail}` : ''}. Use an endpoint that keeps that history ` +
        'or reset the indexer cursor knowingly.',
    );
  }
}

/** The endpoint answered something that breaks its own protocol; retried like a network error. */
export class ChainProtocolError extends Error {
  override name = 'ChainProtocolError';
}

/**
 * The endpoint does not offer an RPC the source needs (sui.rpc.v2 ListEvents / SubscribeEvents
 * arrived in 2026; older full nodes answer UNIMPLEMENTED). Retrying cannot help: configure an
 * endpoint that has them, or SUI_CHAIN_SOURCE=graphql.
 */
export class ChainSourceUnsupportedError extends Error {
  override name = 'ChainSourceUnsupportedError';
}
