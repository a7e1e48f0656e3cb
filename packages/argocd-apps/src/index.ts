export type { AssembledApplications, PlannedDeployment } from './applications.js';
export { assembleApplications } from './applications.js';
