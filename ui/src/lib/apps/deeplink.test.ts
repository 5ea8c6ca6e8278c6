import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlanInput } from '../ipc/bindings';
import { answer } from '../test/ipc';
import { DEEP_LINK_REDIRECT, plan } from './test-fixtures';
import { wizard } from './wizard.svelte';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

describe('the deep-link redirect choice', () => {
  // Core names the deep-link redirect URI in its plan.
  beforeEach(() => answer({ registration_plan: (args) => plan(args?.input as PlanInput) }));
  afterEach(() => wizard.close());

  it('sends mailconn://auth only for desktop (public) apps that choose it', async () => {
    wizard.start();
    await wizard.loadPlan();
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
