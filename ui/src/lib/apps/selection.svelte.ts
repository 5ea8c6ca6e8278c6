/**
 * What the Apps page hands to the Connections page: the registration the user just set up (or
 * chose) and wants to connect a mailbox with. The Connections page reads it, and may clear it once
 * it has preselected the registration.
 */
export class AppSelection {
  lastCreatedRegistrationId = $state<string | null>(null);

  /** Returns the id once and forgets it, so a later visit does not preselect it again. */
  take(): string | null {
    const id = this.lastCreatedRegistrationId;
    this.lastCreatedRegistrationId = null;
    return id;
  }
}

export const selection = new AppSelection();
