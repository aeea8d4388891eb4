import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import routerJpg from './page/router.jpg' with { type: 'file' };

/**
 * The photo the demo subscriber sends ("Así está el router"): a JPEG, as a
 * phone sends it. The phone pane shows it, the Graph stand-in serves it as
 * the media behind every picture's id, and the webhook announces its
 * SHA-256 as Meta does, so the service's media route checks and stores it
 * for the console exactly as it would a real one.
 */
const bytes = readFileSync(routerJpg);

export const DEMO_PHOTO = {
  path: routerJpg,
  mimeType: 'image/jpeg',
  bytes,
  sha256: createHash('sha256').update(bytes).digest('hex'),
};
