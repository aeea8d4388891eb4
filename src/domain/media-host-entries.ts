const LABEL = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';
/** A WHATSAPP_MEDIA_HOSTS entry: a host name or IPv4 address with an optional port, or `*.` and a domain of two labels or more. */
const MEDIA_HOST_ENTRY = new RegExp(`^(${LABEL}(\\.${LABEL})*|\\*\\.${LABEL}(\\.${LABEL})+)(:[0-9]{1,5})?$`, 'i');

/** What is wrong with WHATSAPP_MEDIA_HOSTS, one line per entry that is not a host, host:port or *.domain. */
export function mediaHostProblems(setting: string): string[] {
  return setting
    .split(',')
    .map((host) => host.trim())
    .filter((entry) => !MEDIA_HOST_ENTRY.test(entry))
    .map((entry) => `WHATSAPP_MEDIA_HOSTS: ${JSON.stringify(entry)} is not a host, host:port or *.domain (https is implied; at least two labels after *.)`);
}
