/** Public authoring SDK of Riposte: everything a playbook or app author imports. */
export { defineApp } from './app.js';
export type {
  ActionKind, ActionContext, ReconcileContext, ReconcileOutcome, ActionDefinition, AnyActionDefinition,
  AppMeta, AppDefinition, ActionBuilder, ActionInput, ActionOutput,
} from './app.js';
export { definePlaybook, cefValue, untrustedValue } from './playbook.js';
export type {
  Severity, IncidentStatus, AutomationLevel, ArtifactView, UntrustedValue, IncidentView, AssetClient, RelatedQuery,
  RelatedResult,
  PlaybookContext, PlaybookConfig, PlaybookFunction, PlaybookDefinition, PromptSpec, PromptResult, PromptAnswerOf,
} from './playbook.js';
export { capabilities, DeviceRecord, UserRecord } from './capabilities.js';
export type { CapabilityName, CapabilityClient } from './capabilities.js';
export { ActionError, TerminalError, RetryableError, ActionFailedError, toErrorRecord } from './errors.js';
export type { AppliedState, ActionErrorOptions, ErrorRecord } from './errors.js';
