/**
 * The Purple Flea calls the library makes, as plain data. Request building sits behind one
 * interface per action, so another deployment profile (purpleflea-api.md §4) can be added without
 * touching the handlers.
 */
export interface TradeOrder {
  readonly agentId: string;
  readonly direction: 'long' | 'short';
  readonly amountUsdc: number;
  readonly asset: string;
  readonly metadata: { readonly [key: string]: unknown };
}

export interface EscrowCreation {
  readonly buyer: string;
  readonly seller: string;
  readonly amountUsdc: number;
  readonly condition: string;
  readonly metadata: { readonly [key: string]: unknown };
}

export interface WalletTransfer {
  readonly fromAgent: string;
  readonly toAgent: string;
  readonly amountUsdc: number;
  readonly memo: string;
}

export interface ApiRequest {
  readonly path: string;
  readonly body: { readonly [key: string]: unknown };
}

export interface PurpleFleaApiProfile {
  tradeOrder(order: TradeOrder): ApiRequest;
  /** A trade order's request body as the ledger recorded it, read back (what is not there is undefined). */
  recordedTradeOrder(body: { readonly [key: string]: unknown }): Partial<Pick<TradeOrder, 'direction' | 'amountUsdc' | 'asset'>>;
  createEscrow(escrow: EscrowCreation): ApiRequest;
  /** An escrow's request body as the ledger recorded it, read back (what is not there is undefined). */
  recordedEscrow(body: { readonly [key: string]: unknown }): Partial<Pick<EscrowCreation, 'buyer' | 'seller' | 'amountUsdc' | 'condition'>>;
  walletTransfer(transfer: WalletTransfer): ApiRequest;
}

/** The gateway contract at api.purpleflea.com (purpleflea-api.md §1), as the user's story calls it. */
export const GATEWAY_PROFILE: PurpleFleaApiProfile = {
  tradeOrder: (order) => ({
    path: '/trading/order',
    body: {
      agent_id: order.agentId,
      direction: order.direction,
      amount: order.amountUsdc,
      asset: order.asset,
      order_type: 'market',
      metadata: order.metadata,
    },
  }),
  recordedTradeOrder: (body) => ({
    direction: body.direction === 'long' || body.direction === 'short' ? body.direction : undefined,
    amountUsdc: typeof body.amount === 'number' ? body.amount : undefined,
    asset: typeof body.asset === 'string' ? body.asset : undefined,
  }),
  createEscrow: (escrow) => ({
    path: '/escrow/create',
    body: {
      buyer: escrow.buyer,
      seller: escrow.seller,
      amount: escrow.amountUsdc,
      condition: escrow.condition,
      metadata: escrow.metadata,
    },
  }),
  recordedEscrow: (body) => ({
    buyer: typeof body.buyer === 'string' ? body.buyer : undefined,
    seller: typeof body.seller === 'string' ? body.seller : undefined,
    amountUsdc: typeof body.amount === 'number' ? body.amount : undefined,
    condition: typeof body.condition === 'string' ? body.condition : undefined,
  }),
  walletTransfer: (transfer) => ({
    path: '/wallet/transfer',
    body: {
      from_agent: transfer.fromAgent,
      to_agent: transfer.toAgent,
      amount: transfer.amountUsdc,
      memo: transfer.memo,
    },
  }),
};

/** purpleflea-api.md §3: both `agt_...` and `ag_...` ids exist, so check the shape, not a prefix. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
