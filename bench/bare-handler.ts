/**
 * The hand-written handler (pattern 1), in Node, as the benchmark's reference: InvokeEndpoint with the real
 * SDK client, then the order with a keep-alive http agent. The key and agent id are constants here
 * (no secret fetch, no ledger, no logs, no metrics).
 */
import * as http from 'node:http';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SANDBOX_API_KEY, TRADING_ORDER_PATH } from '../test/support/purpleflea-sandbox';
import { AGENT_ID, ENDPOINT, Handler, TradeEvent } from './scenario';

/** The SDK client finds the fake SageMaker Runtime through AWS_ENDPOINT_URL_* in process.env. */
export function createBareHandler(baseUrl: string): { handler: Handler; close(): void } {
  const sagemaker = new SageMakerRuntimeClient({});
  const agent = new http.Agent({ keepAlive: true });
  const orderUrl = new URL(TRADING_ORDER_PATH, baseUrl);

  const post = seedPost(orderUrl, agent);

  const handler: Handler = async (event) => {
    const features = (event as TradeEvent).features;
    const response = await sagemaker.send(
      new InvokeEndpointCommand({
        EndpointName: ENDPOINT,
        ContentType: 'application/json',
        Body: new TextEncoder().encode(JSON.stringify(features)),
      }),
    );
    const prediction = JSON.parse(new TextDecoder().decode(response.Body)) as { direction: string; confidence: number };
    if (prediction.direction === 'hold') return { status: 'SKIPPED', reason: 'hold' };
    if (prediction.confidence < 0.6) return { status: 'SKIPPED', reason: 'confidence below threshold' };
    const answer = await post(
      JSON.stringify({
        agent_id: AGENT_ID,
        direction: prediction.direction,
        amount: 50,
        asset: 'BTC-USDC',
        order_type: 'market',
        metadata: { source: 'sagemaker', confidence: prediction.confidence },
      }),
    );
    if (answer.status < 200 || answer.status >= 300) throw new Error(`order failed: ${answer.status} ${answer.text}`);
    JSON.parse(answer.text);
    return { status: 'SUCCEEDED' };
  };
  return {
    handler,
    close() {
      sagemaker.destroy();
      agent.destroy();
    },
  };
}

/**
 * One POST the way the hand-written pattern makes it (Python requests with timeout=10): a keep-alive agent, the bearer
 * key, the answer's status and text. Shared by the hand-written trade handler and payout loop.
 */
export function seedPost(url: URL, agent: http.Agent): (body: string) => Promise<{ status: number; text: string }> {
  return (body) =>
    new Promise((resolvePromise, reject) => {
      const req = http.request(url, {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: {
          'authorization': `Bearer ${SANDBOX_API_KEY}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body).toString(),
        },
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.end(body);
    });
}
