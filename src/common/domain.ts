/** Domain enums shared by every layer (a leaf: imports nothing of Riposte). */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * `partially_contained`: a containment changed something (a wipe went out) but another part of it
 * failed or could not be done (the block): people must finish it.
 */
export const INCIDENT_STATUSES = ['new', 'open', 'partially_contained', 'contained', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** manual: every non-read-only action needs approval; supervised: contain/correct actions do; autonomous: none. */
export const AUTOMATION_LEVELS = ['manual', 'supervised', 'autonomous'] as const;
export type AutomationLevel = (typeof AUTOMATION_LEVELS)[number];
