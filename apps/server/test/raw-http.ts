import net from 'node:net';

/** One HTTP answer as read from a bare socket, and whether the server closed the connection. */
export interface RawAnswer {
  status: number;
  /** header names lower-cased */
  headers: Record<string, string>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers by path
  body: any;
  /** the server closed the connection (FIN or reset) before the wait ended */
  closed: boolean;
  /** every byte received, for messages */
  raw: string;
}

function parseAnswer(buffer: Buffer): { answer: Omit<RawAnswer, 'closed'>; complete: boolean } {
  const raw = buffer.toString('latin1');
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0)
    return { answer: { status: 0, headers: {}, text: '', body: null, raw }, complete: false };
  const [statusLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const bodyBytes = buffer.subarray(end + 4, end + 4 + length);
  const text = bodyBytes.toString('utf8');
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return {
    answer: { status: Number(statusLine.split(' ')[1] ?? 0), headers, text, body, raw },
    complete: bodyBytes.length >= length,
  };
}

/**
 * Writes `chunks` to a fresh connection (a pause between them, if asked) and reads the first
 * answer. `until: 'close'` waits for the server to close the connection (or `waitMs` to pass:
 * then `closed` is false); `until: 'answer'` stops at the first complete answer.
 */
export function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  options: { until?: 'close' | 'answer'; waitMs?: number; pauseMs?: number } = {},
): Promise<RawAnswer> {
  const { until = 'close', waitMs = 8_000, pauseMs = 0 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(received).answer, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (data) => {
      received = Buffer.concat([received, data]);
      if (until === 'answer' && parseAnswer(received).complete) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  });
}
