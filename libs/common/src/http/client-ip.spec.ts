import { clientIp } from './client-ip';

describe('clientIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:51234', '203.0.113.7'],
    ['2001:db8::7', '2001:db8::7'],
    ['[2001:db8::7]:443', '2001:db8::7'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['[::ffff:203.0.113.7]:80', '203.0.113.7'],
    ['::1', '::1'],
  ])('%s → %s', (raw, expected) => {
    expect(clientIp(raw)).toBe(expected);
  });

  it.each(['unknown', '203.0.113.7:port', '999.0.113.7:80', '[not-an-address]:80', '203.0.113.7:123456', ''])(
    'leaves %j as it came: no address with a port',
    (raw) => {
      expect(clientIp(raw)).toBe(raw);
    },
  );
});
