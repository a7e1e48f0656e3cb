export { applicationsComponent } from './component.js';
export type { ApplicationsSettings } from './generated/settings.js';
