/** The first-party apps shipped with Riposte, grouped by what they connect to. */
import type { AppDefinition } from '../sdk/app.js';
import { AppCatalog } from '../broker/catalog.js';
// MDM
import { intuneApp } from './intune/index.js';
import { jamfApp } from './jamf/index.js';
import { workspaceOneApp } from './workspace-one/index.js';
// Directory
import { entraIdApp } from './entra-id/index.js';
import { ldapApp } from './ldap/index.js';
// Firewall
import { panosApp } from './panos/index.js';
import { nftablesApp } from './nftables/index.js';
// Ticketing
import { jiraApp } from './jira/index.js';
import { serviceNowApp } from './servicenow/index.js';
import { theHiveApp } from './thehive/index.js';
import { requestTrackerApp } from './request-tracker/index.js';
import { riposteCasesApp } from './riposte-cases/index.js';
// Notification
import { smtpApp } from './smtp/index.js';
import { slackApp } from './slack/index.js';
import { teamsApp } from './teams/index.js';
// SIEM
import { splunkApp } from './splunk/index.js';
// Generic
import { httpApp } from './http-request/index.js';

export const firstPartyApps: AppDefinition[] = [
  intuneApp, jamfApp, workspaceOneApp,
  entraIdApp, ldapApp,
  panosApp, nftablesApp,
  jiraApp, serviceNowApp, theHiveApp, requestTrackerApp, riposteCasesApp,
  smtpApp, slackApp, teamsApp,
  splunkApp,
  httpApp,
] as unknown as AppDefinition[];

export function firstPartyCatalog(): AppCatalog {
  return new AppCatalog(firstPartyApps);
}
