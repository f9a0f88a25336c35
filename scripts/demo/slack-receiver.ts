import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface SlackPayload {
  scenario: string;
  file: string;
  /** The message's fallback text, for the console. */
  text: string;
}

/**
 * Stands in for a Slack incoming webhook on 127.0.0.1: answers 200 `ok` as Slack does, and saves
 * each JSON payload as `<dir>/<nn>-<scenario>.json`. Its URL carries a random path, like a real
 * webhook's secret path, so the demo can check the URL never reaches a file.
 */
export class SlackReceiver {
  readonly payloads: SlackPayload[] = [];
  /** The scenario that payloads arriving now belong to (set by the demo before each one). */
  scenario = 'unknown';
  onPayload?: (payload: SlackPayload) => void;
  private readonly secretPath = `/services/TDEMO0000/BDEMO0000/${randomBytes(12).toString('hex')}`;
  private readonly server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== this.secretPath) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no_service');
        return;
      }
      let parsed: { text?: unknown };
      try {
        parsed = JSON.parse(body) as { text?: unknown };
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
        return;
      }
      const file = join(this.dir, `${String(this.payloads.length + 1).padStart(2, '0')}-${this.scenario}.json`);
      const payload = { scenario: this.scenario, file, text: typeof parsed.text === 'string' ? parsed.text : '' };
      this.payloads.push(payload);
      this.writes.push(writeFile(file, `${JSON.stringify(parsed, null, 2)}\n`));
      this.onPayload?.(payload);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  private readonly writes: Promise<void>[] = [];
  private port = 0;

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The webhook URL to give the actions (a secret, as a real one is). */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.secretPath}`;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.writes);
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
