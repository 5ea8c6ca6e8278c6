import { describe, expect, it } from 'vitest';
import {
  formatCountdown,
  formatDateTime,
  formatRelative,
  relativeChangesAt,
  secondsUntil,
} from './format';
import { compactScopes, humanize, shortScope } from './labels';

describe('formatting', () => {
  const now = Date.parse('2025-03-02T10:00:00Z');

  it('counts down whole minutes and seconds', () => {
    expect(secondsUntil('2025-03-02T10:14:32Z', now)).toBe(872);
    expect(formatCountdown(872)).toBe('14:32');
    expect(formatCountdown(5)).toBe('0:05');
    expect(formatCountdown(-3)).toBe('0:00');
  });

  it('says how far away a time is', () => {
    expect(formatRelative('2025-03-02T10:52:00Z', now)).toMatch(/52 minutes/);
    expect(formatRelative('2025-03-02T07:00:00Z', now)).toMatch(/3 hours ago/);
    expect(formatRelative('not a date', now)).toBe('');
  });

  it('leaves a value that is not a date as it is', () => {
    expect(formatDateTime('soon')).toBe('soon');
    expect(formatDateTime('2025-03-02T10:00:00Z')).toMatch(/2025/);
  });

  it('shortens scopes and event kinds for display', () => {
    expect(shortScope('https://outlook.office.com/IMAP.AccessAsUser.All')).toBe('IMAP.AccessAsUser.All');
    expect(shortScope('Mail.Read')).toBe('Mail.Read');
    expect(compactScopes(['openid', 'profile', 'email', 'offline_access', 'Mail.Read'])).toEqual([
      'offline_access',
      'Mail.Read',
    ]);
    expect(humanize('signed_in_again')).toBe('Signed in again');
    expect(humanize('bridge_login')).toBe('Logged in through the bridge');
    expect(humanize('bridge_unavailable')).toBe('Bridge could not log in');
  });

  it('knows when a relative time next reads differently', () => {
    for (const iso of [
      '2025-03-02T10:52:00Z',
      '2025-03-02T07:00:00Z',
      '2025-03-02T10:00:20Z',
      '2025-03-02T09:58:31Z',
      '2025-03-04T09:00:00Z',
      '2025-02-20T00:00:00Z',
    ]) {
      const at = relativeChangesAt(iso, now);
      expect(at, iso).not.toBeNull();
      expect(at!).toBeGreaterThan(now);
      const shown = formatRelative(iso, now);
      // The same text up to that moment (sampled), another one then.
      for (let t = now; t < at!; t += Math.max(1000, Math.floor((at! - now) / 50))) {
        expect(formatRelative(iso, t), `${iso} at ${t - now} ms`).toBe(shown);
      }
      expect(formatRelative(iso, at!), iso).not.toBe(shown);
    }
    expect(relativeChangesAt('not a date', now)).toBeNull();
  });
});
