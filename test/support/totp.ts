/**
 * TOTP codes from an independent generator, Debian's `oathtool` (RFC 6238, SHA-1, 6 digits, 30 s),
 * for the instant `atMs` (the app's injected clock), so that tests never share code with the app.
 *
 *   const code = oathtoolCode(secret, clock.now() - 30_000); // the previous step's code
 */
import { execFileSync } from 'node:child_process';

export function oathtoolCode(secretBase32: string, atMs: number): string {
  return execFileSync('oathtool', ['--totp', '--base32', `--now=@${Math.floor(atMs / 1000)}`, secretBase32], {
    encoding: 'utf8',
  }).trim();
}
