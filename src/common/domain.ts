/** Domain enums shared by every layer (a leaf: imports nothing of Riposte). */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const INCIDENT_STATUSES = ['new', 'open', 'contained', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** manual: every non-read-only action needs approval; supervised: contain/correct actions do; autonomous: none. */
export const AUTOMATION_LEVELS = ['manual', 'supervised', 'autonomous'] as const;
export type AutomationLevel = (typeof AUTOMATION_LEVELS)[number];
