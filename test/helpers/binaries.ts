import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Whether a tool installed from Debian (.ci/apt-packages) can run here. Outside CI a missing tool
 * skips its tests; with CI=true it fails the run instead, so CI never passes by skipping them.
 */
export function requireBinary(name: string, isAvailable: () => boolean): boolean {
  if (isAvailable()) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI (install the packages listed in .ci/apt-packages)`);
  console.warn(`${name} is not installed: its tests are skipped (never with CI=true).`);
  return false;
}

export const PROMTOOL = 'promtool';
export const CHROMIUM = '/usr/bin/chromium';

export const promtoolAvailable = (): boolean => requireBinary(PROMTOOL, () => spawnSync(PROMTOOL, ['--version']).status === 0);
export const chromiumAvailable = (): boolean => requireBinary('chromium', () => existsSync(CHROMIUM));
