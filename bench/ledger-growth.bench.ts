/**
 * How much the ledger grows per payout (issue 17, item 4): one payout sent through the real money path
 * (ActionLedger on dynalite, PurpleFleaClient against the gateway sandbox and the services sandbox), its item
 * read back raw, and sized by DynamoDB's documented item-size rules; then the table's growth per million.
 * Only actions that were claimed are in the ledger: SKIPPED and INVALID rows never are (they are in the run's log).
 */
import { AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ActionLedger } from '../lambda/shared/action-ledger';
import { MoneyPath } from '../lambda/shared/money-path';
import { ApiRequest, GATEWAY_PROFILE, SERVICES_PROFILE } from '../lambda/shared/purpleflea-api';
import { PurpleFleaClient } from '../lambda/shared/purpleflea-client';
import { LEDGER_PARTITION_KEY } from '../lib/private/contracts/ledger-schema';
import { createLedgerTable, dynaliteClient, startDynalite } from '../test/support/dynalite';
import { PurpleFleaSandbox, SANDBOX_API_KEY } from '../test/support/purpleflea-sandbox';
import { PurpleFleaServicesSandbox } from '../test/support/purpleflea-services-sandbox';
import { table } from './stats';

const TABLE = 'LedgerGrowth';

/** DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers ~1 byte per 2 digits + 1, 3 bytes a list or map, 1 an element). */
function sizeOf(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, item) => sum + Buffer.byteLength(item, 'utf8'), 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, item) => sum + 1 + sizeOf(item), 0);
  if (value.M !== undefined)
    return 3 + Object.entries(value.M).reduce((sum, [name, item]) => sum + 1 + Buffer.byteLength(name, 'utf8') + sizeOf(item), 0);
  throw new Error(`no size rule for ${JSON.stringify(value)}`);
}

function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + sizeOf(value), 0);
}

async function main(): Promise<void> {
  const dynamo = await startDynalite();
  await createLedgerTable(dynamo.endpoint, TABLE);
  const client = dynaliteClient(dynamo.endpoint);
  const [gateway, services] = await Promise.all([PurpleFleaSandbox.start(), PurpleFleaServicesSandbox.start()]);
  const credentials = (apiKey: string) => ({ get: async () => ({ apiKey }), refresh: async () => ({ apiKey }) });
  const sender = services.addCasinoAgent({ balance: 1_000 });
  const recipient = services.addCasinoAgent();
  const rows: string[][] = [['profile', 'a SUCCEEDED payout record (bytes)', 'per million payouts']];
  try {
    const ledger = new ActionLedger({ tableName: TABLE, client });
    const payouts: { profile: string; client: PurpleFleaClient; request: ApiRequest }[] = [
      {
        profile: 'gateway',
        client: new PurpleFleaClient({ baseUrl: gateway.baseUrl, credentials: credentials(SANDBOX_API_KEY) }),
        request: GATEWAY_PROFILE.walletTransfer({
          fromAgent: 'agt_platform_treasury',
          toAgent: 'agt_alice_0001',
          amountUsdc: 12.5,
          memo: 'pipeline-bonus score=1.250',
        }),
      },
      {
        profile: 'services',
        client: new PurpleFleaClient({
          services: { casino: { baseUrl: `${services.casinoUrl}/api/v1`, credentials: credentials(sender.apiKey) } },
        }),
        request: SERVICES_PROFILE.walletTransfer({
          fromAgent: sender.agentId,
          toAgent: recipient.agentId,
          amountUsdc: 12.5,
          memo: 'pipeline-bonus score=1.250',
        }),
      },
    ];
    for (const payout of payouts) {
      // A key of the real shape: bucket, object key, quoted ETag and agent id.
      const actionKey = `v1:payout:ml-scores/scores/2026-12-04.csv:"9b2cf535f27731c974343645a3985328":${payout.profile === 'gateway' ? 'agt_alice_0001' : recipient.agentId}`;
      const report = await new MoneyPath(ledger, payout.client).executeOnce(
        { actionKey, amountUsdc: 12.5, request: payout.request },
        { deadline: Date.now() + 30_000 },
      );
      if (report.status !== 'SUCCEEDED') throw new Error(`the ${payout.profile} payout was ${report.status}: ${report.error}`);
      const { Item } = await client.send(
        new GetItemCommand({ TableName: TABLE, Key: { [LEDGER_PARTITION_KEY]: { S: actionKey } }, ConsistentRead: true }),
      );
      const bytes = itemSize(Item!);
      rows.push([payout.profile, bytes.toLocaleString('en-US'), `${((bytes * 1_000_000) / 1e9).toFixed(2)} GB`]);
    }
  } finally {
    client.destroy();
    await Promise.all([dynamo.close(), gateway.close(), services.close()]);
  }
  console.log("Ledger growth per payout (one SUCCEEDED payout through the money path, sized by DynamoDB's item-size rules)");
  console.log(table(rows));
  console.log('  SKIPPED and INVALID rows are never written to the ledger; a REJECTED row that is paid on a rerun is one record.');
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
