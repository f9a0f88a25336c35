import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server on 127.0.0.1 that records every request and answers from a script:
 * queued answers per path first, then the route's default. Stands in for Slack and for the
 * GitHub REST API in the tests.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: any;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: string | object;
}

export type Route = (request: RecordedRequest) => Answer;

export interface HttpRecorder {
  url: string;
  requests: RecordedRequest[];
  /** Answer the next request(s) to `path` with these, in order, before the route's default. */
  queue(path: string, ...answers: Answer[]): void;
  stop(): Promise<void>;
}

export async function startRecorder(route: Route): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const queued = new Map<string, Answer[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, json };
      requests.push(recorded);
      const answer = queued.get(path)?.shift() ?? route(recorded);
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
      res.writeHead(answer.status, { 'content-type': type, ...answer.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    queue(path, ...answers) {
      queued.set(path, [...(queued.get(path) ?? []), ...answers]);
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
