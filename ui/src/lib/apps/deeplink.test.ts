import { afterEach, describe, expect, it } from 'vitest';
import { DEEP_LINK_REDIRECT, wizard } from './wizard.svelte';

describe('the deep-link redirect choice', () => {
  afterEach(() => wizard.close());

  it('sends mailconn://auth only for desktop (public) apps that choose it', () => {
    wizard.start();
    expect(wizard.kind).toBe('public');
    expect(wizard.planInput.redirect_uri).toBeUndefined();
    wizard.deepLink = true;
    expect(wizard.planInput.redirect_uri).toBe(DEEP_LINK_REDIRECT);
    expect(wizard.input.redirect_uri).toBe(DEEP_LINK_REDIRECT);
    wizard.webApp = true;
    expect(wizard.kind).toBe('confidential');
    expect(wizard.input.redirect_uri).toBeUndefined();
  });

  it('starts unchecked again after closing', () => {
    wizard.start();
    wizard.deepLink = true;
    wizard.close();
    wizard.start();
    expect(wizard.deepLink).toBe(false);
  });
});
