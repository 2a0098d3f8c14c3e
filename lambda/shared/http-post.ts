import * as http from 'node:http';
import * as https from 'node:https';

/**
 * One JSON POST, with what the caller needs to decide whether money may have moved:
 * `not-sent` means the request provably never reached the server (the connection was never
 * established), `no-answer` means it may have (sent, then a timeout or a dropped connection).
 */
export type HttpPostResult =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string }
  | { readonly kind: 'not-sent'; readonly reason: string }
  | { readonly kind: 'no-answer'; readonly reason: string };

export interface HttpPostRequest {
  /** POST (default), or GET for a read route (its body is then empty). */
  readonly method?: 'POST' | 'GET';
  readonly url: URL;
  readonly headers: { readonly [name: string]: string };
  readonly body: string;
  readonly timeoutMs: number;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Idle keep-alive sockets are closed after 2 s, well before servers drop them (Node's default is
 * 5 s): a request written to a socket the server is closing would be a false "may have moved money".
 */
const agentOptions: http.AgentOptions = { keepAlive: true, timeout: 2_000, maxFreeSockets: 16 };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

export function httpPost(request: HttpPostRequest): Promise<HttpPostResult> {
  const isHttps = request.url.protocol === 'https:';
  const transport = isHttps ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const finish = (result: HttpPostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const failed = (reason: string) => finish(connected ? { kind: 'no-answer', reason } : { kind: 'not-sent', reason });

    const req = transport.request(request.url, {
      method: request.method ?? 'POST',
      agent: isHttps ? httpsAgent : httpAgent,
      headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
    });
    const timer = setTimeout(() => {
      failed(`no answer within ${request.timeoutMs} ms`);
      req.destroy();
    }, request.timeoutMs);

    req.on('socket', (socket) => {
      // A reused keep-alive socket is already connected; a new one counts once the connection
      // (and, for https, the TLS handshake) is up, since only then can the request be read.
      if (!socket.connecting && (!isHttps || (socket as unknown as { encrypted?: boolean }).encrypted)) {
        connected = true;
        return;
      }
      socket.once(isHttps ? 'secureConnect' : 'connect', () => {
        connected = true;
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => failed(error.code ?? error.message));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
      });
      res.on('end', () => finish({ kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error: NodeJS.ErrnoException) => failed(error.code ?? error.message));
      res.on('aborted', () => failed('connection closed while reading the answer'));
    });
    req.end(request.body);
  });
}
