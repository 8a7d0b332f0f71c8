// Accounts: the users file, the password checks (Authenticator) and the CLI commands.
export { UserDirectory } from './user-directory.ts';
export { InvalidUserNameError, accountName, canonicalUserName } from '../../storage/user-names.ts';
export type { UserDirectoryOptions } from './user-directory.ts';
export { userAdd, userDel, userList, readPasswordFromStdin } from './cli-commands.ts';
