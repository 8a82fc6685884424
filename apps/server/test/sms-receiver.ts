import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the receiver got. */
export interface ReceivedSms {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

export interface TestSmsReceiver {
  /** the webhook URL to configure as SMS_WEBHOOK_URL (path `/sms`) */
  url: string;
  received: ReceivedSms[];
  /** the status the receiver answers with from now on (default 200) */
  respondWith(status: number): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 and a free port that records every request as an SMS gateway would. */
export async function startSmsReceiver(): Promise<TestSmsReceiver> {
  const received: ReceivedSms[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the test will see it was not JSON
      }
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status < 300 ? '{"ok":true}' : '{"error":"gateway down"}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    received,
    respondWith(next) {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
