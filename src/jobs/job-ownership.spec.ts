import { canAccessJob, listOwnerScope, type Caller } from './job-ownership';

const alice: Caller = { userId: 'user-alice', role: 'user' };
const bob: Caller = { userId: 'user-bob', role: 'user' };
const admin: Caller = { userId: 'user-admin', role: 'admin' };

describe('job ownership (CONTRACT §5)', () => {
  describe('canAccessJob (CONTRACT §5)', () => {
    it('lets the owner access their job', () => {
      expect(canAccessJob(alice, 'user-alice')).toBe(true);
    });

    it("refuses another user's job", () => {
      expect(canAccessJob(alice, 'user-bob')).toBe(false);
      expect(canAccessJob(bob, 'user-alice')).toBe(false);
    });

    it('lets an admin access anyone’s job, their own included', () => {
      expect(canAccessJob(admin, 'user-alice')).toBe(true);
      expect(canAccessJob(admin, 'user-bob')).toBe(true);
      expect(canAccessJob(admin, 'user-admin')).toBe(true);
    });

    it('compares ids exactly', () => {
      expect(canAccessJob(alice, 'USER-ALICE')).toBe(false);
      expect(canAccessJob(alice, 'user-alice ')).toBe(false);
      expect(canAccessJob(alice, '')).toBe(false);
    });

    it('goes by role, not by the id looking like an admin', () => {
      expect(canAccessJob({ userId: 'admin', role: 'user' }, 'user-alice')).toBe(false);
    });
  });

  describe('listOwnerScope (CONTRACT §5)', () => {
    it('limits a user without a filter to their own jobs', () => {
      expect(listOwnerScope(alice)).toBe('user-alice');
      expect(listOwnerScope(alice, undefined)).toBe('user-alice');
    });

    it('limits a user asking for their own id to their own jobs', () => {
      expect(listOwnerScope(alice, 'user-alice')).toBe('user-alice');
    });

    // null (an empty list) rather than an error, so the answer does not confirm the id exists.
    it('shows nothing to a user asking for another owner', () => {
      expect(listOwnerScope(alice, 'user-bob')).toBeNull();
      expect(listOwnerScope(bob, 'user-alice')).toBeNull();
      expect(listOwnerScope(alice, 'user-admin')).toBeNull();
    });

    it('treats an empty owner filter from a user as another owner', () => {
      expect(listOwnerScope(alice, '')).toBeNull();
    });

    it('shows an admin without a filter every job', () => {
      expect(listOwnerScope(admin)).toBeUndefined();
    });

    it('shows an admin with a filter that owner’s jobs', () => {
      expect(listOwnerScope(admin, 'user-alice')).toBe('user-alice');
      expect(listOwnerScope(admin, 'user-bob')).toBe('user-bob');
      expect(listOwnerScope(admin, 'user-admin')).toBe('user-admin');
    });
  });
});
