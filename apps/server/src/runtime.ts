import type { Logger } from 'pino';
import type { Config } from './config';
import type { Db } from './db/database';
import type { Dialect } from './db/dialect';
import type { SessionsTable } from './db/schema';
import type { Metrics } from './http/metrics';
import type { InvalidatingCache } from './lib/cache';
import type { Clock } from './lib/clock';
import type { InvalidationBus } from './lib/invalidation';
import type { UserRow } from './modules/users/users.repo';
import type { PasswordHasher } from './security/passwords';
import type { RateLimits } from './security/rate-limits';
import type { AccessTokens } from './tokens/access-tokens';
import type { SigningKeyStore } from './tokens/signing-keys';

/**
 * Everything a service needs, wired once by createApp (the composition root). Plain objects:
 * tests swap the clock and the database, never the logic.
 */
export interface Runtime {
  config: Config;
  db: Db;
  dialect: Dialect;
  clock: Clock;
  logger: Logger;
  bus: InvalidationBus;
  caches: {
    users: InvalidatingCache<UserRow | null>;
    sessions: InvalidatingCache<SessionsTable | null>;
  };
  keys: SigningKeyStore;
  tokens: AccessTokens;
  hasher: PasswordHasher;
  limits: RateLimits;
  /** HMAC key for one-time codes and CSRF tokens */
  secretKey: string;
  /** wakes the delivery worker after a commit that queued messages */
  notifyOutbox(): void;
  metrics: Metrics;
}
