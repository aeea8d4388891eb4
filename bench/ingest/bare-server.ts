/**
 * The yardstick of DESIGN 6's ingest budget: a bare Bun.serve doing what the
 * webhook must do and nothing else: read the raw body, check its HMAC in
 * constant time, XADD it, answer 200.
 */
import Redis from 'ioredis';
import { createHmac, timingSafeEqual } from 'node:crypto';

const secret = process.env.META_WEBHOOK_SECRET!;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const stream = `${process.env.REDIS_KEY_PREFIX}bare`;

Bun.serve({
  port: Number(process.env.PORT),
  hostname: '127.0.0.1',
  async fetch(request) {
    const raw = new Uint8Array(await request.arrayBuffer());
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
    const given = Buffer.from(request.headers.get('x-hub-signature-256') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return new Response('bad signature', { status: 401 });
    await redis.xadd(stream, '*', 'd', Buffer.from(raw).toString());
    return Response.json({ success: true });
  },
});
