import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../../src/config';
import { mediaHostPolicy } from '../../../src/integrations/media-hosts';

const DEFAULT = loadConfig({}).WHATSAPP_MEDIA_HOSTS;
const allows = (setting: string, apiUrl: string, url: string) => mediaHostPolicy(setting, apiUrl)(new URL(url));

describe('where a media download may take the WhatsApp token', () => {
  test("by default: Meta's download host over https, and the API's own origin", () => {
    const api = 'https://graph.facebook.com/v21.0';
    expect(allows(DEFAULT, api, 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1')).toBe(true);
    expect(allows(DEFAULT, api, 'https://graph.facebook.com/v21.0/123')).toBe(true);
    for (const url of [
      'http://lookaside.fbsbx.com/whatsapp_business/attachments/',
      'https://lookaside.fbsbx.com:8443/',
      'https://lookaside.fbsbx.com.evil.example/',
      'https://evil.example/?lookaside.fbsbx.com',
      'https://lookaside.fbsbx.com@evil.example/',
      'https://other.fbsbx.com/',
      'https://scontent.whatsapp.net/',
      'https://mmg.whatsapp.net/',
      'http://graph.facebook.com/v21.0/123',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      expect({ url, allowed: allows(DEFAULT, api, url) }).toEqual({ url, allowed: false });
    }
  });

  test('an API on loopback allows exactly its origin: no other port, name or scheme of this machine', () => {
    const api = 'http://127.0.0.1:4010/v21.0';
    expect(allows(DEFAULT, api, 'http://127.0.0.1:4010/whatsapp_business/attachments/')).toBe(true);
    for (const url of ['http://127.0.0.1:4011/', 'http://localhost:4010/', 'https://127.0.0.1:4010/', 'http://127.0.0.2:4010/', 'http://[::1]:4010/']) {
      expect({ url, allowed: allows(DEFAULT, api, url) }).toEqual({ url, allowed: false });
    }
  });

  test('`*.domain` allows its subdomains, not the domain itself nor a look-alike; a port is exact', () => {
    const setting = '*.fbsbx.com, media.example.org:8443';
    const api = 'https://graph.facebook.com/v21.0';
    expect(allows(setting, api, 'https://lookaside.fbsbx.com/')).toBe(true);
    expect(allows(setting, api, 'https://a.b.FBSBX.com/')).toBe(true);
    expect(allows(setting, api, 'https://media.example.org:8443/x')).toBe(true);
    for (const url of ['https://fbsbx.com/', 'https://evilfbsbx.com/', 'https://media.example.org/x', 'http://lookaside.fbsbx.com/']) {
      expect({ url, allowed: allows(setting, api, url) }).toEqual({ url, allowed: false });
    }
  });

  test('config refuses an entry that is not a host, host:port or *.domain, one line each', () => {
    let problems: string[] = [];
    try {
      loadConfig({ WHATSAPP_MEDIA_HOSTS: 'lookaside.fbsbx.com, https://evil.example, *.com, a/b' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toHaveLength(3);
    expect(problems.every((line) => line.startsWith('WHATSAPP_MEDIA_HOSTS: '))).toBe(true);
    expect(loadConfig({ WHATSAPP_MEDIA_HOSTS: '*.fbsbx.com,10.0.0.5:8443' }).WHATSAPP_MEDIA_HOSTS).toBe('*.fbsbx.com,10.0.0.5:8443');
  });
});
