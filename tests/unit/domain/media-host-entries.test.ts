import { expect, test } from 'bun:test';
import { mediaHostProblems } from '../../../src/domain/media-host-entries';

test('WHATSAPP_MEDIA_HOSTS takes hosts, host:port and *.domain entries, separated by commas with blanks around them, in any case', () => {
  expect(mediaHostProblems('lookaside.fbsbx.com')).toEqual([]);
  expect(mediaHostProblems('lookaside.fbsbx.com, *.fbcdn.net ,media.example.co:8443')).toEqual([]);
  expect(mediaHostProblems('Lookaside.FBSBX.com,*.FBCDN.net')).toEqual([]);
});

test('an entry that is no host is named, one line each, the others let through', () => {
  expect(mediaHostProblems('https://lookaside.fbsbx.com, *.net, lookaside.fbsbx.com')).toEqual([
    'WHATSAPP_MEDIA_HOSTS: "https://lookaside.fbsbx.com" is not a host, host:port or *.domain (https is implied; at least two labels after *.)',
    'WHATSAPP_MEDIA_HOSTS: "*.net" is not a host, host:port or *.domain (https is implied; at least two labels after *.)',
  ]);
});
