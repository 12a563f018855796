import { removesLastAdmin } from './admin-rule';

const admin = { role: 'admin' as const, disabled: false };

describe('last-admin rule', () => {
  it('refuses to demote, disable or delete the only active admin', () => {
    expect(removesLastAdmin(admin, { role: 'user', disabled: false }, 0)).toBe(true);
    expect(removesLastAdmin(admin, { role: 'admin', disabled: true }, 0)).toBe(true);
    expect(removesLastAdmin(admin, null, 0)).toBe(true);
  });

  it('allows it when another active admin remains', () => {
    expect(removesLastAdmin(admin, null, 1)).toBe(false);
    expect(removesLastAdmin(admin, { role: 'user', disabled: false }, 2)).toBe(false);
  });

  it('allows changes that keep the admin active, and any change to users or disabled admins', () => {
    expect(removesLastAdmin(admin, { role: 'admin', disabled: false }, 0)).toBe(false);
    expect(removesLastAdmin({ role: 'user', disabled: false }, null, 0)).toBe(false);
    expect(removesLastAdmin({ role: 'admin', disabled: true }, null, 0)).toBe(false);
  });
});
