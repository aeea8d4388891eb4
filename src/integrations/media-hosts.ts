/**
 * Where a media download may go, and with it the long-lived WhatsApp token
 * (the Cloud API's download url needs `Authorization: Bearer`). Graph's
 * answer names the url; a spoofed answer, a proxy in the path or a
 * misconfigured WHATSAPP_API_URL must not carry the token anywhere else.
 *
 * Allowed: the exact origin of WHATSAPP_API_URL (scheme, host and port: the
 * token already goes there with every send, and a test's loopback fake is
 * reached this way while no other loopback address is), and the
 * WHATSAPP_MEDIA_HOSTS entries, over https only: `host` or `host:port` for
 * exactly that host (port 443 unless named), `*.domain` for its subdomains.
 */
export type MediaHostPolicy = (url: URL) => boolean;

interface HostEntry {
  host: string;
  subdomains: boolean;
  port: string;
}

const HTTPS_PORT = '443';

function entryOf(text: string): HostEntry {
  const [, wildcard, host, port] = /^(\*\.)?([^:]+)(?::(\d+))?$/.exec(text)!;
  return { host: host!, subdomains: wildcard !== undefined, port: port ?? HTTPS_PORT };
}

/** `setting` as config.ts validated it (WHATSAPP_MEDIA_HOSTS). */
export function mediaHostPolicy(setting: string, apiUrl: string): MediaHostPolicy {
  const apiOrigin = new URL(apiUrl).origin;
  const entries = setting.split(',').map((entry) => entryOf(entry.trim().toLowerCase()));
  return (url) => {
    if (url.origin === apiOrigin) return true;
    if (url.protocol !== 'https:') return false;
    const port = url.port || HTTPS_PORT;
    return entries.some((entry) => entry.port === port && (entry.subdomains ? url.hostname.endsWith(`.${entry.host}`) : url.hostname === entry.host));
  };
}
