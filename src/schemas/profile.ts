import { BlockList, isIP } from 'node:net';
import { pgText } from './text.js';

// Addresses a browser should never be sent to by another user's avatar: this host, the
// viewer's own network, link-local (cloud metadata lives there), and other non-public ranges.
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv6');

// Names that resolve only inside a network, never on the public internet.
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/;

/** True for a host (as the URL parser normalised it) on the public internet. */
export function isPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const version = isIP(host);
  if (version === 4) return !NON_PUBLIC.check(host, 'ipv4');
  if (version === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped ? !NON_PUBLIC.check(mapped[1]!, 'ipv4') : !NON_PUBLIC.check(host, 'ipv6');
  }
  // A single label ("intranet") only resolves inside some network.
  return host.includes('.') && !LOCAL_NAMES.test(host.replace(/\.$/, ''));
}

function isPublicHttpsUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && isPublicHost(url.hostname);
}

/**
 * An avatar goes into every viewer's `<img src>`: only https (no javascript:, data: or mixed
 * content), no credentials, and only public hosts, so one user cannot make another's browser
 * call into their own network or this host. The URL parser normalises the host first, so
 * "https://0x7f.1/" is checked as 127.0.0.1.
 */
export const avatarUrl = () =>
  pgText()
    .max(2048)
    .refine(isPublicHttpsUrl, 'must be an https URL on a public host');

// Bidi embeddings, overrides and isolates reorder the text around them ("evil\u202Eexe.txt").
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
// A visible character: not a separator, control, format (zero-width) or combining mark, nor one
// of the fillers that render blank.
const VISIBLE = /[^\p{Z}\p{C}\p{M}\u115F\u1160\u3164\uFFA0\u2800]/u;

/**
 * A display name: other users see it next to every message, so it must show something and
 * must not reorder the text around it. Message text itself stays verbatim.
 */
export const displayName = () =>
  pgText()
    .trim()
    .min(1)
    .max(100)
    .refine((s) => !BIDI_CONTROLS.test(s), 'must not contain bidirectional control characters')
    .refine((s) => VISIBLE.test(s), 'must contain a visible character');
