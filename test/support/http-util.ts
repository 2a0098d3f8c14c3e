/**
 * Small helpers shared by the local stand-ins (sandbox Purple Flea server, fake AWS endpoints).
 * Every server binds to 127.0.0.1 on port 0 so parallel jest workers never collide.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Reads a whole request body as UTF-8. */
export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A listening loopback server that remembers its sockets so close() can cut them (jest must exit). */
export class LoopbackServer {
  static async listen(handler: http.RequestListener): Promise<LoopbackServer> {
    const server = http.createServer(handler);
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    return new LoopbackServer(server, sockets, `http://127.0.0.1:${port}`);
  }

  private closed?: Promise<void>;

  private constructor(
    readonly server: http.Server,
    private readonly sockets: Set<Socket>,
    readonly url: string,
  ) {}

  /** Stops listening and destroys every open socket, including requests that are never answered. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
    return this.closed;
  }
}

/** Timers that close() can cancel, so a pending delay never outlives the server. */
export class Sleeper {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();
  private cancelled = false;

  /** Resolves true after `ms`, or false at once if the owner was closed meanwhile. */
  sleep(ms: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve(true);
      }, ms);
      this.pending.set(timer, () => resolve(false));
    });
  }

  cancelAll(): void {
    this.cancelled = true;
    for (const [timer, wake] of this.pending) {
      clearTimeout(timer);
      wake();
    }
    this.pending.clear();
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text).toString(),
    ...headers,
  });
  res.end(text);
}
