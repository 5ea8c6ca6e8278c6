export type Page = 'connections' | 'apps' | 'bridge' | 'settings' | 'about';

/** Which page the main area shows. Plain state, so any feature can navigate: `nav.go('apps')`. */
export class Nav {
  current = $state<Page>('connections');

  go(page: Page): void {
    this.current = page;
  }
}

export const nav = new Nav();
