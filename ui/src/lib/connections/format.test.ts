import { describe, expect, it } from 'vitest';
import { formatCountdown, formatDateTime, formatRelative, secondsUntil } from './format';
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
});
