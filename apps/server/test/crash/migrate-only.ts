import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';

/**
 * What `gatehouse migrate` does, without loading the rest of the server: the many short-lived
 * processes the migration crash test kills start in a fraction of the CLI's time. The test's
 * final run is the real CLI.
 */
const database = openDatabase(loadConfig().database);
await database.migrate();
await database.close();
