export { snapshotControllerComponent } from './component.js';
export type { SnapshotControllerSettings } from './generated/settings.js';
