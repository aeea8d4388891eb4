import { describe, expect, test } from 'bun:test';
import { clientAddress } from '../../../src/routes/http/client-address';

describe('the client address a budget is counted for', () => {
  test('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', [])).toBe('203.0.113.7');
  });

  test('is the socket peer when the peer is not one of our proxies', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', ['10.0.0.2'])).toBe('203.0.113.7');
  });

  test('behind a trusted proxy, is the right-most forwarded address that is not ours', () => {
    expect(clientAddress('10.0.0.2', '6.6.6.6, 198.51.100.1, 10.0.0.3', ['10.0.0.2', '10.0.0.3'])).toBe('198.51.100.1');
  });

  test('an address the client forged at the left cannot pick its budget', () => {
    expect(clientAddress('10.0.0.2', 'forged-1, 198.51.100.1', ['10.0.0.2'])).toBe('198.51.100.1');
  });

  test('a trusted proxy without X-Forwarded-For, or with only trusted hops, counts as itself or the first hop', () => {
    expect(clientAddress('10.0.0.2', null, ['10.0.0.2'])).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', '10.0.0.3', ['10.0.0.2', '10.0.0.3'])).toBe('10.0.0.3');
  });

  test('IPv4 peers of a dual-stack socket match proxies listed as IPv4', () => {
    expect(clientAddress('::ffff:10.0.0.2', '198.51.100.1', ['10.0.0.2'])).toBe('198.51.100.1');
  });

  test('without a socket (app.handle in tests) every request is one client', () => {
    expect(clientAddress(undefined, '198.51.100.1', [])).toBe('unknown');
  });
});
