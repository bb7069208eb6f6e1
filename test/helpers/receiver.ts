import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  status: number;
}

/** What a path answers: a status, or a function that writes the response itself. */
export type Reply = number | { status: number; headers?: Record<string, string>; delayMs?: number; body?: string };

/**
 * A real local webhook receiver on 127.0.0.1. Each path answers from its script of replies in turn
 * (the last one repeats; 200 when there is none) and records every request it got.
 */
export class Receiver {
  readonly hits: Hit[] = [];
  /** Requests received and not answered yet, by path. */
  private readonly waiting = new Map<string, number>();
  private readonly scripts = new Map<string, Reply[]>();
  private readonly server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => this.answer(req.url ?? '/', req.headers, body, res));
  });
  url = '';

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** Sets what `path` answers, in order. */
  script(path: string, ...replies: Reply[]): string {
    this.scripts.set(path, replies);
    return `${this.url}${path}`;
  }

  to(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  /** How many requests to `path` the receiver holds (delayed replies not sent yet). */
  inFlight(path: string): number {
    return this.waiting.get(path) ?? 0;
  }

  private answer(path: string, headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    const script = this.scripts.get(path) ?? [];
    const reply = (script.length > 1 ? script.shift() : script[0]) ?? 200;
    const r = typeof reply === 'number' ? { status: reply } : reply;
    this.waiting.set(path, this.inFlight(path) + 1);
    const respond = () => {
      this.waiting.set(path, this.inFlight(path) - 1);
      this.hits.push({ path, headers, body, at: Date.now(), status: r.status });
      res.writeHead(r.status, r.headers).end(r.body ?? `status ${r.status}`);
    };
    if (r.delayMs) setTimeout(respond, r.delayMs);
    else respond();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
