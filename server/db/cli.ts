// What the command-line tools that only need the database share: an exit with a message, and the
// database settings, where a configuration error exits 78 (EX_CONFIG) with its message.
import { ConfigError, loadDatabaseConfig, type Config } from '../config.js';

export function exitWith(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

export function databaseConfigOrExit(): Config['database'] {
  try {
    return loadDatabaseConfig();
  } catch (error) {
    if (error instanceof ConfigError) exitWith(error.message, 78);
    throw error;
  }
}
