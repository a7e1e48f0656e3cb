export type { AssembledApplications, PlannedDeployment } from './applications.js';
export { assembleApplications, WORKLOAD_PROJECT_LABEL } from './applications.js';
