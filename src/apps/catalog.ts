/** The first-party apps shipped with Riposte. */
import type { AppDefinition } from '../sdk/app.js';
import { AppCatalog } from '../broker/catalog.js';
import { intuneApp } from './intune/index.js';
import { entraIdApp } from './entra-id/index.js';
import { panosApp } from './panos/index.js';
import { jiraApp } from './jira/index.js';
import { riposteCasesApp } from './riposte-cases/index.js';

export const firstPartyApps: AppDefinition[] = [intuneApp, entraIdApp, panosApp, jiraApp, riposteCasesApp] as unknown as AppDefinition[];

export function firstPartyCatalog(): AppCatalog {
  return new AppCatalog(firstPartyApps);
}
