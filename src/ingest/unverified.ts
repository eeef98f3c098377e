/**
 * Bounds the request bodies being received before their signature can be checked
 * (`v1` signs the body, so it is known good only once the body is in). At most
 * `perSource` of them per claimed source id and, separately, `perAddress` per client
 * address are in flight; beyond either, the next one is refused before its body is
 * read. They hold no transcode slot or queue place meanwhile (see limiter.ts): a
 * client without the secret can tie up only its own share of these, never the
 * places of signed-and-verified uploads.
 */
import net from 'node:net';

export interface UnverifiedPass {
  /** Gives the place back (idempotent). */
  release(): void;
}

export type UnverifiedEntry = { pass: UnverifiedPass } | { refused: 'source' | 'address' };

export interface UnverifiedGate {
  /** A pass when both the source's and the address's bounds have room; otherwise which bound is full. */
  enter(key: { source: string; address: string }): UnverifiedEntry;
  /** Bodies being received unverified right now. */
  readonly inFlight: number;
}

export function createUnverifiedGate(options: { perSource: number; perAddress: number }): UnverifiedGate {
  const bySource = new Map<string, number>();
  const byAddress = new Map<string, number>();
  let inFlight = 0;
  const add = (counts: Map<string, number>, key: string, delta: number) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next > 0) counts.set(key, next);
    else counts.delete(key); // only keys in flight are kept: memory is bounded by the bodies in flight
  };
  return {
    enter({ source, address }) {
      if ((bySource.get(source) ?? 0) >= options.perSource) return { refused: 'source' };
      if ((byAddress.get(address) ?? 0) >= options.perAddress) return { refused: 'address' };
      add(bySource, source, 1);
      add(byAddress, address, 1);
      inFlight++;
      let released = false;
      return {
        pass: {
          release() {
            if (released) return;
            released = true;
            add(bySource, source, -1);
            add(byAddress, address, -1);
            inFlight--;
          },
        },
      };
    },
    get inFlight() {
      return inFlight;
    },
  };
}

/**
 * The key a client address is counted under: an IPv4 address as it is (also when
 * written IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 prefix (one
 * subscriber usually holds a whole /64), anything else as given.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const zoneless = ip.split('%')[0]!;
  const [head = '', tail] = zoneless.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array.from({ length: Math.max(0, missing) }, () => '0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
