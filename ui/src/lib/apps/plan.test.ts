// The wizard carries core's plan answers (client kind, tenant help, deep-link URI); it does not
// work them out itself.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PlanInfo, PlanInput } from '../ipc/bindings';
import { answer } from '../test/ipc';
import { DEEP_LINK_REDIRECT, plan, registration } from './test-fixtures';
import { wizard } from './wizard.svelte';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

describe('the wizard follows core’s plan', () => {
  let asked: PlanInput[];

  beforeEach(() => {
    asked = [];
    answer({
      registration_plan: (args) => {
        const input = args?.input as PlanInput;
        asked.push(input);
        return plan(input);
      },
    });
  });
  afterEach(() => wizard.close());

  it('asks for the kind the user chose and takes the kind core decided', async () => {
    wizard.start();
    wizard.preset = 'application';
    // Until core has answered, the kind asked for stands.
    expect(wizard.kind).toBe('public');
    expect(wizard.kindFixed).toBe(false);
    await wizard.loadPlan();
    expect(asked.at(-1)?.kind).toBe('public');
    expect(wizard.kind).toBe('confidential');
    expect(wizard.kindFixed).toBe(true);
    expect(wizard.input.kind).toBe('confidential');
    // Core's answer holds for the same choices in a later wizard.
    wizard.close();
    wizard.start();
    wizard.preset = 'application';
    expect(wizard.kind).toBe('confidential');
  });

  it('takes whatever kind core answers', async () => {
    const custom: PlanInfo = { ...plan(wizard.planInput), kind: 'confidential', kind_fixed: true };
    answer({ registration_plan: () => custom });
    wizard.start();
    await wizard.loadPlan();
    expect(wizard.kind).toBe('confidential');
  });

  it('drops a plan that arrives after newer choices were asked for', async () => {
    let release!: () => void;
    const held = new Promise<void>((ok) => (release = ok));
    answer({
      registration_plan: async (args) => {
        const input = args?.input as PlanInput;
        if (input.name === 'Old') await held;
        return plan(input);
      },
    });
    wizard.start();
    wizard.name = 'Old';
    const old = wizard.loadPlan();
    wizard.name = 'New';
    await wizard.loadPlan();
    release();
    await old;
    expect(wizard.plan?.manifest).toContain('New');
  });

  it('shows the deep link as chosen when the stored app uses core’s deep-link URI', async () => {
    wizard.start();
    await wizard.loadPlan();
    wizard.close();
    wizard.edit(registration({ kind: 'public', usage: 'delegated', redirect_uri: DEEP_LINK_REDIRECT }));
    expect(wizard.deepLink).toBe(true);
    expect(wizard.input.redirect_uri).toBe(DEEP_LINK_REDIRECT);
    expect(wizard.planInput.redirect_uri).toBe(DEEP_LINK_REDIRECT);
  });
});
