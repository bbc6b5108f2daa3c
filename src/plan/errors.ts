// The plan files' errors, one line each, fit for the terminal (store.ts and lock.ts throw them).

/** A plan file that cannot be read or written; the message is one line, fit for the terminal. */
export class PlanFileError extends Error {
  override name = 'PlanFileError';
}

/** What a file system error says, in a few words. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'a loop of symlinks';
    case 'ENOTDIR':
      return 'no such file (a part of the path is not a folder)';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
