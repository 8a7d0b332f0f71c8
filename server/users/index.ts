// Accounts: the users file, the password checks (Authenticator) and the CLI commands.
export { UserDirectory, InvalidUserNameError, canonicalUserName, validateUserName } from './user-directory.ts';
export type { UserDirectoryOptions } from './user-directory.ts';
export { userAdd, userDel, userList, readPasswordFromStdin } from './cli-commands.ts';
