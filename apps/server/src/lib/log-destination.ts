/**
 * Where the log goes: stdout, without ever blocking the process (issue 10 #23).
 *
 * pino's default destination writes synchronously and retries for as long as the pipe is full:
 * with a log reader that stalls (a full pipe), one log line froze the event loop, and a SIGTERM
 * was never handled — the service manager had to SIGKILL. process.stdout on a pipe is
 * non-blocking in Node (libuv): a line that does not fit waits in memory, and this destination
 * drops lines rather than let that memory grow past `maxBuffered` bytes. A pipe closed by its
 * reader (EPIPE) is ignored by the process-wide stdout error listener (see `guardStdio`).
 */
export function stdoutDestination(maxBuffered = 8 * 1024 * 1024): { write(line: string): void } {
  let dropped = 0;
  return {
    write(line: string) {
      const out = process.stdout;
      if (out.destroyed) return;
      if (out.writableLength > maxBuffered) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        out.write(
          `${JSON.stringify({ level: 40, time: Date.now(), msg: `${dropped} log lines dropped: stdout is not being read` })}\n`,
        );
        dropped = 0;
      }
      out.write(line);
    },
  };
}

/**
 * A stdout or stderr whose reader went away (EPIPE) or failed must not crash the server: the
 * error is ignored, and further writes are dropped.
 */
export function guardStdio() {
  for (const stream of [process.stdout, process.stderr])
    if (!stream.listeners('error').includes(ignore)) stream.on('error', ignore);
}

function ignore() {}
