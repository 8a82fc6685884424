// Preloaded into a spawned Gatehouse (`node --import this-file apps/server/bin/gatehouse.js ...`)
// by the crash tests; never part of the server. It counts the SQL statements the process runs
// (through better-sqlite3 and pg, as Kysely uses them) and:
//   CRASH_LOG=<file>        appends each executed statement's SQL, one JSON string per line;
//   CRASH_KILL_AFTER=<sql>  SIGKILLs the process right after the first statement whose SQL is
//                           exactly <sql> has executed (so mid-transaction, before any COMMIT).
// A kill point is named by its SQL rather than by a count so that it means the same place in
// the schema whatever the process ran before (a restart re-runs what a kill rolled back).
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const log = process.env.CRASH_LOG;
const killAfter = process.env.CRASH_KILL_AFTER;

function executed(source) {
  if (log) fs.appendFileSync(log, `${JSON.stringify(source)}\n`);
  if (killAfter !== undefined && source === killAfter) process.kill(process.pid, 'SIGKILL');
}

const Sqlite = require('better-sqlite3');
const probe = new Sqlite(':memory:');
const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();
for (const method of ['run', 'all', 'get', 'iterate']) {
  const original = Statement[method];
  Statement[method] = function (...args) {
    const out = original.apply(this, args);
    executed(this.source);
    return out;
  };
}

const pg = require('pg');
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === 'string' ? config : config?.text;
  const out = query.call(this, config, values, callback);
  if (out && typeof out.then === 'function') {
    return out.then((result) => {
      executed(text);
      return result;
    });
  }
  return out;
};
