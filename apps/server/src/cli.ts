import { parseArgs } from 'node:util';
import { createApp, createLogger } from './app';
import { ConfigError, devModeRefusal, loadConfig } from './config';
import { openDatabase } from './db/database';
import { guardStdio } from './lib/log-destination';
import { seedOrganization } from './modules/seed/seed';
import { SigningKeyStore } from './tokens/signing-keys';

const USAGE = `usage: gatehouse <command>

  start                     migrate, then serve the API (PORT, HOST; see README for all variables)
  migrate                   apply pending database migrations and exit
  create-admin --email E --password P [--first-name F] [--last-name L]
                            create a platform admin (or make an existing user one)
  rotate-keys               add a new token signing key; old keys stay in the JWKS until their tokens expire
  seed --members N [--template T]
                            create a demo organization with N members (benchmarks, demos; users get no password)
`;

/** Printed whenever `start` serves in development mode (issue 10 #15). */
const DEV_WARNING = (host: string) =>
  `gatehouse: WARNING: development mode on ${host}: /v1/dev/outbox shows every verification code ` +
  'and reset link to anyone who can reach this server, without signing in. ' +
  'Set GATEHOUSE_ENV=production for anything but a laptop.\n';

function fail(message: string, code = 1): never {
  process.stderr.write(`gatehouse: ${message}\n`);
  process.exit(code);
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // A log reader that went away (EPIPE on stdout or stderr) must not crash the server.
  guardStdio();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  // Before anything is opened: development mode must not be served to the network by accident.
  const refusal = command === 'start' ? devModeRefusal(config) : null;
  if (refusal) fail(refusal);
  const database = openDatabase(config.database);
  try {
    await database.migrate();
  } catch (error) {
    fail(`cannot prepare the database (${config.database.kind}): ${(error as Error).message}`);
  }

  switch (command) {
    case 'migrate': {
      process.stdout.write(`migrations applied (${config.database.kind})\n`);
      await database.close();
      return;
    }
    case 'rotate-keys': {
      const store = new SigningKeyStore(
        database.db,
        Date.now,
        (config.accessTokenTtl + 60) * 1000,
        config.keyPublishLeadSeconds * 1000,
      );
      await store.init(config.signingKeyPem);
      // --now: a compromised key; verifiers with a cached JWKS refuse new tokens until they refetch.
      const immediate = args.includes('--now');
      const key = await store.rotate(undefined, { immediate });
      process.stdout.write(
        immediate
          ? `new signing key ${key.kid}; running nodes sign with it within 30 seconds\n`
          : `new signing key ${key.kid}, published now; every node signs with it from ${new Date(key.signsFrom).toISOString()}\n`,
      );
      await database.close();
      return;
    }
    case 'seed': {
      const { values } = parseArgs({
        args,
        options: {
          members: { type: 'string', default: '1000' },
          template: { type: 'string', default: 'media' },
        },
      });
      const members = Number(values.members);
      if (!Number.isInteger(members) || members < 0 || members > 10_000_000)
        fail('--members must be a whole number', 2);
      const started = Date.now();
      const seeded = await seedOrganization(database.db, { members, template: values.template });
      process.stdout.write(
        `organization ${seeded.orgId} with ${members} members (owner ${seeded.ownerId}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      await database.close();
      return;
    }
    case 'create-admin': {
      const { values } = parseArgs({
        args,
        options: {
          email: { type: 'string' },
          password: { type: 'string' },
          'first-name': { type: 'string' },
          'last-name': { type: 'string' },
        },
      });
      if (!values.email || !values.password) fail('create-admin needs --email and --password', 2);
      const gatehouse = await createApp({ config, database, startWorker: false });
      try {
        const id = await gatehouse.services.setup.createAdminFromCli({
          email: values.email.trim().toLowerCase(),
          password: values.password,
          first_name: values['first-name'] ?? 'Platform',
          last_name: values['last-name'] ?? 'Admin',
        });
        process.stdout.write(
          `platform admin ${values.email} (${id}) is ready; sign in with POST /v1/auth/login\n`,
        );
      } catch (error) {
        const e = error as {
          code?: string;
          message: string;
          extensions?: { failed_rules?: string[] };
        };
        fail(
          `${e.message}${e.extensions?.failed_rules ? ` (${e.extensions.failed_rules.join(', ')})` : ''}`,
        );
      } finally {
        await gatehouse.close();
        await database.close();
      }
      return;
    }
    case 'start': {
      const gatehouse = await createApp({ config, database, logger: createLogger(config) });
      const { app, services } = gatehouse;
      // A stop always ends the process (issue 10 #23): requests in flight get SHUTDOWN_GRACE_MS
      // to finish, then the process exits regardless; a second signal exits at once. Nothing
      // here waits on stdout (see lib/log-destination).
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(1);
        stopping = true;
        app.log.info({ signal }, 'shutting down');
        setTimeout(() => {
          app.log.warn(
            { grace_ms: config.shutdownGraceMs },
            'requests still running after the grace period; exiting anyway',
          );
          process.exit(1);
        }, config.shutdownGraceMs);
        gatehouse
          .close()
          .then(() => database.close())
          .then(
            () => process.exit(0),
            (error: Error) => {
              app.log.error({ err: error.message }, 'shutdown failed');
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
      // Said before the first request can be served.
      if (config.env === 'development') process.stderr.write(DEV_WARNING(config.host));
      await app.listen({ port: config.port, host: config.host });
      const where = config.database.kind === 'sqlite' ? config.database.file : 'PostgreSQL';
      process.stdout.write(
        `\nGatehouse is listening on ${config.publicUrl} (database: ${where}, mode: ${config.env})\n`,
      );
      process.stdout.write(`  API docs:  ${config.publicUrl}/docs\n`);
      const token = await services.setup.prepareSetupToken();
      if (token) {
        process.stdout.write(
          `  First run: create the platform admin at ${config.publicUrl}/setup?token=${token}\n`,
        );
        process.stdout.write(
          `             or: npm run gatehouse -- create-admin --email you@example.com --password '...'\n`,
        );
      }
      if (config.env === 'development' && !config.smtpUrl) {
        process.stdout.write(
          '  Development mode: mail and SMS are printed here and listed at /v1/dev/outbox, not sent.\n',
        );
      }
      process.stdout.write('\n');
      return;
    }
    default:
      fail(`unknown command "${command}"\n${USAGE}`, 2);
  }
}

main().catch((error) => fail((error as Error).stack ?? String(error)));
