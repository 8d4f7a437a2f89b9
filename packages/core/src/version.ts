import { createRequire } from 'node:module';

/**
 * The version in the package.json one folder above a module of that package: the same relative
 * path from src/ (tests run on sources) and from dist/ (built).
 */
export function packageVersion(moduleUrl: string): string {
  return (createRequire(moduleUrl)('../package.json') as { version: string }).version;
}

/** The version of @regimes/core that is running, checked against each plugin's `core` range. */
export const coreVersion: string = packageVersion(import.meta.url);
