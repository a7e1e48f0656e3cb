export type { AssembledApplications } from './applications.js';
export { assembleApplications } from './applications.js';
