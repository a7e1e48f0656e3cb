export type { AssembledApplications, PlannedDeployment } from './applications.js';
export { assembleApplications, PLATFORM_CHART } from './applications.js';
