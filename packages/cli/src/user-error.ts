/** A mistake of the user that is not in the definition (a missing --config, a bad argument): exit 1. */
export class UserError extends Error {
  override readonly name = 'UserError';
}
