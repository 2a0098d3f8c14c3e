/**
 * The operator's `list --status UNKNOWN` over ledgers of 10,000 and 100,000 records holding 10 UNKNOWN
 * ones each (issue 17, item 3): items read and time, by the attention index (a Query) and by a Scan of the
 * whole table (how the command read before the index), side by side. Against dynalite, on this machine:
 * compare the two ways and the two sizes within one run, not the times with another machine's.
 *
 * The bulk of each ledger is SUCCEEDED records written directly (BatchWriteItem), in the shape the ledger
 * leaves them (no attention attributes); the UNKNOWN ones go through ActionLedger, as a handler makes them.
 */
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LedgerOperator } from '../cli/src/ledger-operator';
import { ActionLedger } from '../lambda/shared/action-ledger';
import { LEDGER_PARTITION_KEY } from '../lib/private/contracts/ledger-schema';
import { createLedgerTable, dynaliteClient, startDynalite } from '../test/support/dynalite';
import { ms, table } from './stats';

const SIZES = [10_000, 100_000];
const UNKNOWN_RECORDS = 10;
const REPEATS = 5;

async function fill(tableName: string, size: number, endpoint: string): Promise<void> {
  const client = dynaliteClient(endpoint);
  const doc = DynamoDBDocumentClient.from(client);
  const at = new Date().toISOString();
  try {
    for (let start = 0; start < size - UNKNOWN_RECORDS; start += 25) {
      const count = Math.min(25, size - UNKNOWN_RECORDS - start);
      const items = Array.from({ length: count }, (_, offset) => ({
        PutRequest: {
          Item: {
            [LEDGER_PARTITION_KEY]: `v1:payout:bench/scores.csv:etag:agt_${start + offset}`,
            state: 'SUCCEEDED',
            claimToken: `token-${start + offset}`,
            leaseExpiresAt: 0,
            attempts: 1,
            amountUsdc: 12.5,
            request: { from_agent: 'agt_treasury', to_agent: `agt_${start + offset}`, amount: 12.5, memo: 'pipeline-bonus score=1.250' },
            response: { transfer_id: `tx_${start + offset}`, status: 'completed' },
            createdAt: at,
            updatedAt: at,
          },
        },
      }));
      await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: items } }));
    }
    const ledger = new ActionLedger({ tableName, client });
    for (let index = 0; index < UNKNOWN_RECORDS; index++) {
      const actionKey = `v1:payout:bench/scores.csv:etag:agt_lost_${index}`;
      const claim = await ledger.claim(actionKey, { state: 'SENDING', leaseMs: 60_000, request: { amount: 5 }, amountUsdc: 5 });
      if (!claim.claimed) throw new Error(`${actionKey} was not claimed`);
      await ledger.recordOutcome(actionKey, claim.claimToken, 'UNKNOWN', { error: 'no answer after sending' });
    }
  } finally {
    client.destroy();
  }
}

async function timeList(operator: LedgerOperator, scan: boolean): Promise<{ medianMs: number; itemsRead: number; found: number }> {
  const times: number[] = [];
  let last = { itemsRead: 0, found: 0 };
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const started = process.hrtime.bigint();
    const listed = await operator.listWithPlan({ states: ['UNKNOWN'], scan });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (listed.read !== (scan ? 'scan' : 'index'))
      throw new Error(`expected a ${scan ? 'scan' : 'query'}, the list was read by ${listed.read}`);
    last = { itemsRead: listed.itemsRead, found: listed.actions.length };
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], ...last };
}

async function main(): Promise<void> {
  const dynamo = await startDynalite();
  const client = dynaliteClient(dynamo.endpoint);
  const rows: string[][] = [['ledger records', 'UNKNOWN found', 'read by', 'items read', `median of ${REPEATS} (ms)`]];
  try {
    for (const size of SIZES) {
      const tableName = `LedgerList${size}`;
      await createLedgerTable(dynamo.endpoint, tableName);
      const filled = Date.now();
      await fill(tableName, size, dynamo.endpoint);
      console.log(`filled a ledger of ${size.toLocaleString('en-US')} records in ${((Date.now() - filled) / 1000).toFixed(1)} s`);
      const operator = new LedgerOperator({ tableName, client });
      for (const scan of [false, true]) {
        const result = await timeList(operator, scan);
        if (result.found !== UNKNOWN_RECORDS) throw new Error(`found ${result.found} UNKNOWN records, expected ${UNKNOWN_RECORDS}`);
        rows.push([
          size.toLocaleString('en-US'),
          String(result.found),
          scan ? 'Scan (before)' : 'attention index',
          result.itemsRead.toLocaleString('en-US'),
          ms(result.medianMs, 1),
        ]);
      }
    }
  } finally {
    client.destroy();
    await dynamo.close();
  }
  console.log();
  console.log(`purpleflea-ledger list --status UNKNOWN (${UNKNOWN_RECORDS} UNKNOWN records in each ledger; dynalite on this machine)`);
  console.log(table(rows));
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
