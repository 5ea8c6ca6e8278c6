// The client secret lifetimes the portal offers, shared by the wizard and the secret rotation
// (kept apart from the wizard's state, which the first screen does not need).

export type ExpiryChoice = '6' | '12' | '18' | '24' | 'custom';

/** The portal's own choices, which it counts in days ("Recommended: 180 days (6 months)"). */
export const EXPIRY_DAYS: Record<Exclude<ExpiryChoice, 'custom'>, number> = {
  '6': 180,
  '12': 365,
  '18': 545,
  '24': 730,
};
