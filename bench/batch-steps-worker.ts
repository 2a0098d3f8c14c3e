/**
 * One Prepare or Summarize of bench/batch-steps.bench.ts, in a process of its own, bundled by esbuild as
 * the handlers are (plain node, no tsx), so that what the process holds is what a Lambda container holds:
 * Node, the AWS SDK, the step. It is sent a {@link StepJob}, runs it once through the handler's factory
 * (lambda/<step>/handler.ts) with the real S3 client against the stand-in, and answers a {@link StepReport}.
 *
 * Summarize's ledger answers "no record" at once (the Map settled every row but 1 in 1,000 REJECTED, which
 * it asks about): the ledger's latency is not what this measures. Nothing is logged below WARN.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { createBatchPayoutPrepareHandler } from '../lambda/batch-payout-prepare/handler';
import { createBatchPayoutSummarizeHandler } from '../lambda/batch-payout-summarize/handler';
import { createFraudHoldPrepareHandler } from '../lambda/fraud-hold-prepare/handler';
import type { StepJob, StepReport } from './batch-steps-protocol';

async function run(job: StepJob): Promise<StepReport> {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFORLOCALBENCH',
    AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key-for-the-bench',
    AWS_ENDPOINT_URL_S3: job.s3Url,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const s3 = new S3Client({});
  const logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  let step: () => Promise<unknown>;
  switch (job.step) {
    case 'payout-prepare': {
      const handler = createBatchPayoutPrepareHandler({ settings: job.settings, s3, sagemaker: {} as never, logger });
      step = () => handler(job.event);
      break;
    }
    case 'holds-prepare': {
      const handler = createFraudHoldPrepareHandler({ settings: job.settings, s3, sagemaker: {} as never, logger });
      step = () => handler(job.event);
      break;
    }
    case 'payout-summarize': {
      const handler = createBatchPayoutSummarizeHandler({
        settings: { eventBusName: 'bench', dryRun: false },
        ledger: { get: async () => undefined },
        s3,
        putEvents: async () => ({ FailedEntryCount: 0, Entries: [{ EventId: 'bench' }], $metadata: {} }),
        now: Date.now,
        logger,
        metrics: new Metrics({ namespace: 'Bench', serviceName: 'bench' }),
      });
      step = () => handler(job.event as never);
      break;
    }
  }

  const start = process.memoryUsage();
  let peakHeap = start.heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 10);
  const started = process.hrtime.bigint();
  try {
    const result = await step();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    return {
      ms,
      maxRssKiB: process.resourceUsage().maxRSS,
      startRssBytes: start.rss,
      startHeapBytes: start.heapUsed,
      peakHeapBytes: peakHeap,
      result,
    };
  } finally {
    clearInterval(sampler);
    s3.destroy();
  }
}

process.once('message', (job: StepJob) => {
  run(job).then(
    (report) => process.send!({ report }, () => process.exit(0)),
    (error: Error) => process.send!({ error: error.stack ?? error.message }, () => process.exit(1)),
  );
});
