// The command table: one entry per command, each from its own module.
import type { CommandSpec } from '../command.ts';
import { APPEND } from './append-command.ts';
import { AUTHENTICATE, LOGIN, STARTTLS } from './auth-commands.ts';
import { COPY, MOVE, UID_COPY, UID_MOVE } from './copy-move-commands.ts';
import { FETCH, UID_FETCH } from './fetch-command.ts';
import { IDLE } from './idle-command.ts';
import { LIST, LSUB } from './list-command.ts';
import { CREATE, DELETE, NAMESPACE, RENAME, STATUS, SUBSCRIBE, UNSUBSCRIBE } from './mailbox-commands.ts';
import { SEARCH, UID_SEARCH } from './search-command.ts';
import { SORT, THREAD, UID_SORT, UID_THREAD } from './sort-thread-commands.ts';
import { CLOSE, EXAMINE, EXPUNGE, SELECT, UID_EXPUNGE, UNSELECT } from './select-commands.ts';
import { CAPABILITY, CHECK, ENABLE, ID, LOGOUT, NOOP } from './session-commands.ts';
import { STORE, UID_STORE } from './store-command.ts';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  CAPABILITY, NOOP, LOGOUT, ID, ENABLE, CHECK,
  LOGIN, AUTHENTICATE, STARTTLS,
  CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, NAMESPACE,
  SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, 'UID EXPUNGE': UID_EXPUNGE,
  APPEND,
  FETCH, 'UID FETCH': UID_FETCH,
  STORE, 'UID STORE': UID_STORE,
  COPY, 'UID COPY': UID_COPY, MOVE, 'UID MOVE': UID_MOVE,
  SEARCH, 'UID SEARCH': UID_SEARCH,
  SORT, 'UID SORT': UID_SORT, THREAD, 'UID THREAD': UID_THREAD,
  IDLE,
};
