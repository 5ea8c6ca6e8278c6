import type {
  ExportWritten,
  ImportOffer,
  ImportPreview,
  ImportReport,
  ImportSource,
} from '../ipc/bindings';
import {
  dismissImportLink,
  exportRegistrations,
  importRegistrations,
  previewImport,
  registrationImportLink,
  saveRegistrationsExport,
  watchImportLinks,
} from '../ipc/commands';
import { copyText } from '../ui/clipboard';
import { Request } from '../ipc/request.svelte';
import { registrations } from '../apps/registrations.svelte';

/** The export of every app registration (no secret in it): shown, saved to a file, one as a link. */
export class ExportState {
  readonly shown = new Request<string>();
  readonly saved = new Request<ExportWritten>();
  readonly link = new Request<string>();
  /** The last link was put on the clipboard. */
  copied = $state(false);

  async show(): Promise<void> {
    await this.shown.run(exportRegistrations);
  }

  async save(path: string, replace: boolean): Promise<void> {
    await this.saved.run(() => saveRegistrationsExport(path, replace));
  }

  async copyLink(id: string): Promise<void> {
    this.copied = false;
    const link = await this.link.run(() => registrationImportLink(id));
    if (link) this.copied = await copyText(link);
  }
}

/**
 * An import in two steps: core's preview of a file, pasted text or a link (nothing saved), then,
 * once the person confirms, the import of the same source (checked again by core).
 */
export class ImportState {
  readonly previewRequest = new Request<ImportPreview>({ clearOnRun: true });
  readonly importRequest = new Request<ImportReport>();
  /** What the preview on screen was made from; the import uses exactly this. */
  source = $state<ImportSource | null>(null);

  readonly preview = $derived(this.previewRequest.data);
  readonly report = $derived(this.importRequest.data);
  /** How many registrations the import would add. */
  readonly adding = $derived(this.preview?.entries.filter((e) => e.status === 'new').length ?? 0);

  async check(source: ImportSource): Promise<void> {
    this.importRequest.reset();
    this.source = source;
    await this.previewRequest.run(() => previewImport(source));
  }

  async confirm(): Promise<boolean> {
    const source = this.source;
    if (!source) return false;
    const report = await this.importRequest.run(() => importRegistrations(source));
    if (!report) return false;
    this.previewRequest.reset();
    this.source = null;
    void registrations.load();
    return true;
  }

  clear(): void {
    this.previewRequest.reset();
    this.importRequest.reset();
    this.source = null;
  }
}

/** `mailconn://import` links the OS hands the app: shown one at a time, saved only on a yes. */
export class ImportLinks {
  offer = $state<ImportOffer | null>(null);
  readonly importRequest = new Request<ImportReport>();
  /** The last import made from a link, until the dialog is closed. */
  done = $state<ImportReport | null>(null);

  async watch(): Promise<void> {
    try {
      await watchImportLinks((offer) => {
        this.done = null;
        this.importRequest.reset();
        this.offer = offer;
      });
    } catch {
      // Without the watch no link is offered; nothing else depends on it.
    }
  }

  async confirm(): Promise<void> {
    const offer = this.offer;
    if (!offer?.preview) return;
    const report = await this.importRequest.run(() =>
      importRegistrations({ from: 'text', text: offer.link }),
    );
    if (report) {
      this.done = report;
      this.offer = null;
      void registrations.load();
    }
  }

  /** Declined (or closed after the import). */
  async dismiss(): Promise<void> {
    const had = this.offer !== null;
    this.offer = null;
    this.done = null;
    this.importRequest.reset();
    if (had) {
      try {
        await dismissImportLink();
      } catch {
        // Core forgets it with the next link anyway.
      }
    }
  }
}

export const importLinks = new ImportLinks();
