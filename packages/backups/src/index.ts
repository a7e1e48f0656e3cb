export { backupsComponent } from './component.js';
export type { BackupsSettings } from './settings.js';
